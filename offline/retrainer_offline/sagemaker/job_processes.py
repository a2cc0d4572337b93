"""Each SageMaker job's own process (sagemaker-contracts.md §1-§4): started, waited on (no polling), killed.

Processing jobs run their entrypoint as a process; training and transform jobs are forks of a job-process
server that imported XGBoost once (`python -m retrainer_offline.sagemaker.containers serve`). A process still
running after `MaxRuntimeInSeconds` of real compute time is killed; StopXJob kills it too. The job's output
is kept by job name, as CloudWatch Logs would hold it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrainer_offline.sagemaker import containers
from retrainer_offline.sagemaker.containers import PEAK_MEMORY_FILE, JobFailed

STDERR_TAIL = 1024
DEFAULT_MAX_RUNTIME = 86400.0
# Fault injection (a slow host): the job's process sleeps, then becomes the job's own command.
SLOW_HOST = "import os, sys, time; time.sleep(float(sys.argv[1])); os.execv(sys.argv[2], sys.argv[2:])"


# The container output of each job (what CloudWatch Logs would hold), by job name.
JOB_LOGS: dict[str, str] = {}


class _JobProcesses:
    """The running job processes by job name (StopXJob kills one), and an event per job that ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[str] | _Ticket] = {}
        self._stopped: set[str] = set()
        self._ended: dict[str, threading.Event] = {}
        self._delays: dict[str, float] = {}

    def delay(self, name: str, seconds: float) -> None:
        """Fault injection: job `name`'s process sleeps `seconds` before it works (a slow host)."""
        with self._lock:
            self._delays[name] = seconds

    def created(self, name: str) -> None:
        with self._lock:
            self._ended[name] = threading.Event()
            self._stopped.discard(name)

    def ended(self, name: str) -> None:
        with self._lock:
            event = self._ended.setdefault(name, threading.Event())
        event.set()

    def wait_for_end(self, name: str, timeout: float) -> bool:
        with self._lock:
            event = self._ended.setdefault(name, threading.Event())
        return event.wait(timeout)

    def run(self, name: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
        """Run the job's process to its end; (exit code, its output). Raises TimeoutExpired past `timeout`."""
        with self._lock:
            if name in self._stopped:
                return -9, ""
            if name in self._delays:
                command = [sys.executable, "-c", SLOW_HOST, str(self._delays.pop(name)), *command]
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            self._running[name] = process
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        finally:
            with self._lock:
                self._running.pop(name, None)
        return process.returncode, output

    def run_forked(self, name: str, kind: str, job_dir: Path, timeout: float) -> tuple[int, str]:
        """Run `containers.run_job_process` as a process forked from the job-process server (numpy and XGBoost
        already imported there: a job starts in milliseconds, not the seconds an import takes under load)."""
        with self._lock:
            if name in self._stopped:
                return -9, ""
            delay = self._delays.pop(name, 0.0)
        server = job_server()
        ticket = server.submit(kind, job_dir, delay)
        with self._lock:
            self._running[name] = ticket
        try:
            if not ticket.ended.wait(timeout):  # an event the server's answer sets: no polling
                ticket.kill()
                ticket.ended.wait()
                raise subprocess.TimeoutExpired(f"job {name}", timeout)
        finally:
            with self._lock:
                self._running.pop(name, None)
        log = job_dir / containers.LOG_FILE
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return ticket.exit_code, output

    def stop(self, name: str) -> None:
        with self._lock:
            self._stopped.add(name)
            process = self._running.get(name)
        if process is not None:
            process.kill()


@dataclass
class _Ticket:
    """One job submitted to the job-process server."""

    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    pid: int = 0
    exit_code: int = 0

    def kill(self) -> None:
        self.started.wait()
        if not self.ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class JobServer:
    """`python -m retrainer_offline.sagemaker.containers serve`, started once; jobs fork from it (containers.serve)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "retrainer_offline.sagemaker.containers", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._tickets: dict[str, _Ticket] = {}
        self._next = 0
        threading.Thread(target=self._read, daemon=True, name="retrainer-job-server").start()

    def alive(self) -> bool:
        return self._process.poll() is None

    def submit(self, kind: str, job_dir: Path, delay: float = 0.0) -> _Ticket:
        ticket = _Ticket()
        with self._lock:
            self._next += 1
            job_id = str(self._next)
            self._tickets[job_id] = ticket
            assert self._process.stdin is not None
            self._process.stdin.write(f"{job_id}\t{kind}\t{job_dir}\t{delay}\n")
            self._process.stdin.flush()
        return ticket

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            what, job_id, value = line.rstrip("\n").split("\t")
            with self._lock:
                ticket = self._tickets[job_id] if what == "started" else self._tickets.pop(job_id)
            if what == "started":
                ticket.pid = int(value)
                ticket.started.set()
            else:
                ticket.exit_code = int(value)
                ticket.ended.set()
        with self._lock:  # the server is gone: every job still waiting has failed
            orphans, self._tickets = list(self._tickets.values()), {}
        for ticket in orphans:
            ticket.exit_code = -1
            ticket.started.set()
            ticket.ended.set()


_servers: list[JobServer] = []
_servers_lock = threading.Lock()


def job_server() -> JobServer:
    with _servers_lock:
        if not _servers or not _servers[0].alive():
            _servers[:] = [JobServer()]  # started once; again only if it died
        return _servers[0]


def warm_up() -> None:
    """Start the job-process server now (it imports XGBoost while the runtime deploys the stack)."""
    job_server()


PROCESSES = _JobProcesses()
TRAIN_SECONDS: dict[str, float] = {}  # the xgboost.train call inside each training job, by job name
PEAK_RSS_KIB: dict[str, int] = {}  # peak resident memory of each job's process, by job name


def wait_for_end(name: str, timeout: float) -> bool:
    """Wait (on an event, at most `timeout` wall seconds) until job `name` has ended; True if it has."""
    return PROCESSES.wait_for_end(name, timeout)


def max_runtime(job: Any) -> float:
    return float((getattr(job, "stopping_condition", None) or {}).get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME))


def run_container(kind: str, name: str, job: Any, job_dir: Path) -> str:
    """Run `retrainer_offline.sagemaker.containers` `kind` work as the job process; its output, or JobFailed."""
    code, output = PROCESSES.run_forked(name, kind, job_dir, max_runtime(job))
    JOB_LOGS[name] = output
    peak = job_dir / PEAK_MEMORY_FILE
    if peak.exists():
        PEAK_RSS_KIB[name] = int(peak.read_text())
    if code != 0:
        failure = job_dir / "opt/ml/output/failure"
        reason = failure.read_text(encoding="utf-8", errors="replace")[:1024] if failure.exists() else ""
        raise JobFailed(reason or f"AlgorithmError: exit code {code}: {output[-STDERR_TAIL:].strip()}")
    return output
