"""Servers the course starts (an MLflow tracking server, a Kafka broker): a bounded start-up wait
that fails with the server's own log, and a stop that takes every process the server started.

Each server runs under a small watchdog (`python -m sparkcourse.service PARENT_PID -- COMMAND`) in a
process group of its own. The watchdog ends the group when the process that started it is gone, so
that nothing outlives a notebook kernel, even one that was killed.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .params import CourseError


class ServiceError(CourseError, RuntimeError):
    """A server did not start; the message ends with the last lines of its log."""


class Service:
    def __init__(self, name: str, command: list[str], ready: Callable[[], bool], log: Path,
                 env: dict[str, str] | None = None, timeout: float = 60, url: str = ""):
        self.name, self.command, self.ready, self.log = name, command, ready, log
        self.env, self.timeout, self.url = env, timeout, url  # url: where clients reach it
        self.process: subprocess.Popen | None = None

    def start(self) -> Service:
        """Start the server and wait until `ready()` (at most `timeout` seconds)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            watched = [sys.executable, "-m", "sparkcourse.service", str(os.getpid()), "--", *self.command]
            self.process = subprocess.Popen(watched, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **(self.env or {})}, start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.timeout
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                ended = self.process.poll() is not None
                self.stop()
                why = "stopped" if ended else f"was not ready after {self.timeout:.0f} s"
                raise ServiceError(f"{self.name} {why}; its log ({self.log}) ends: {self.log_tail()}")
            time.sleep(0.25)
        return self

    def log_tail(self, lines: int = 3) -> str:
        text = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
        return " | ".join(line.strip() for line in text[-lines:]) or "(empty)"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10) -> None:
        """Stop the server and everything it started (its process group)."""
        if self.process is None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(self.process.pid, signal.SIGKILL)  # what ignored SIGTERM
        self.process.wait()
        _wait_until_gone(self.process.pid)  # its children, reaped by init once orphaned
        self.process = None
        atexit.unregister(self.stop)

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def answers_http(url: str) -> Callable[[], bool]:
    """A readiness check: does GET `url` answer 200?"""
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    return ready


def _wait_until_gone(group: int, timeout: float = 10) -> None:
    """Return once no process of `group` is left (not even a zombie), or after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass


def watch(parent: int, command: list[str]) -> int:
    """Run `command`; end this process group when `parent` is gone or the command has ended."""
    child = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(child.wait(timeout=30)))
    while child.poll() is None and os.getppid() == parent:
        time.sleep(0.5)
    if child.poll() is None:  # the parent is gone: stop the server, then whatever it started
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(0, signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(0, signal.SIGKILL)
    return child.returncode or 0


if __name__ == "__main__":
    parent_pid, separator, *server_command = sys.argv[1:]
    sys.exit(watch(int(parent_pid), server_command))
