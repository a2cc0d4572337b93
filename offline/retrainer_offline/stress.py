"""`make stress`: the demo on a loaded machine, two CPU-bound processes running beside it.

Each busy process spins until its own deadline (`STRESS_SECONDS`, 900 by default), so it stops by itself
even if this command is killed; it is also ended as soon as the demo finishes. The exit code is the demo's:
non-zero if any run ended otherwise than the demo expects. Load averages are printed before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

BUSY = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"
BUSY_PROCESSES = 2


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    seconds = float(os.environ.get("STRESS_SECONDS", "900"))
    busy = [subprocess.Popen([sys.executable, "-c", BUSY, str(seconds)]) for _ in range(BUSY_PROCESSES)]
    pids = ", ".join(str(p.pid) for p in busy)
    print(f"stress: {BUSY_PROCESSES} busy processes (pids {pids}), each stopping by itself after {seconds:.0f} s")
    started = time.monotonic()
    try:
        time.sleep(2)  # let the busy processes take their share before the demo starts
        print(f"stress: before the demo, {_load()}")
        from retrainer_offline.demo import main as demo_main

        code = demo_main()
    finally:
        for process in busy:
            process.terminate()
        for process in busy:
            process.wait()
    print(f"stress: demo exit code {code} in {time.monotonic() - started:.1f} s under load; after, {_load()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
