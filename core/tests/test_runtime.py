"""The server process's own settings, checked in a fresh interpreter (they are global)."""

from __future__ import annotations

import subprocess
import sys


def test_prepare_for_serving_tunes_the_collector() -> None:
    code = (
        "import gc\n"
        "from api_particulier.runtime import GC_YOUNG, prepare_for_serving\n"
        "before = gc.get_threshold()\n"
        "prepare_for_serving()\n"
        "after = gc.get_threshold()\n"
        "assert after == (GC_YOUNG, *before[1:]), after\n"
        "assert gc.get_freeze_count() > 0\n"
        "# The allocator keeps working after its thresholds changed.\n"
        "blocks = [bytearray(300_000) for _ in range(50)]\n"
        "del blocks\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
