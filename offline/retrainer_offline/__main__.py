"""`python -m retrainer_offline demo|bench|invoke`: the offline runtime's command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:])[:1]
    print(f"retrainer offline runtime: {' '.join(command) or 'demo'} is not yet available (issue 3).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
