"""The service run as its own processes (``api-particulier serve``, uvicorn with workers),
as a deployment runs it: wait until each answers, stop each cleanly."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def wait_until_serving(
    url: str,
    process: subprocess.Popen[Any],
    *,
    timeout: float = 60.0,
    log: Path | None = None,
) -> None:
    """Return once ``url``'s ``/api/ping`` answers 200; fail the test, with the tail of
    ``log`` when given, if ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the service exited at start{_tail(log)}")
        try:
            if httpx.get(url + "/api/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the service did not answer within {timeout:g} s{_tail(log)}")
        time.sleep(0.05)


def stop_serving(
    *processes: subprocess.Popen[Any],
    stop_signal: int = signal.SIGTERM,
    timeout: float = 30.0,
) -> None:
    """Ask every process to stop at once (a clean stop writes the journal's pending rows),
    then kill any still running ``timeout`` seconds later."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(stop_signal)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
    return ":\n" + "\n".join(lines)
