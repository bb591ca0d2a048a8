"""The kit's helpers for the service run as processes of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from api_particulier.testing import stop_serving, wait_until_serving
from api_particulier.testing.redis import free_port


def test_a_process_that_exits_at_start_fails_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("configuration error: no pepper\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    process.wait()
    with pytest.raises(AssertionError, match="exited at start:\nconfiguration error"):
        wait_until_serving(f"http://127.0.0.1:{free_port()}", process, log=log)


def test_a_service_that_never_answers_fails_in_time() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(AssertionError, match=r"did not answer within 0\.5 s"):
            wait_until_serving(f"http://127.0.0.1:{free_port()}", process, timeout=0.5)
    finally:
        stop_serving(process, timeout=5)
    assert process.returncode is not None


def test_a_process_deaf_to_the_stop_signal_is_killed() -> None:
    deaf = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )
    process = subprocess.Popen([sys.executable, "-c", deaf], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    stop_serving(process, timeout=0.5)
    assert process.returncode == -9
    process.stdout.close()
