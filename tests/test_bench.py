"""The benchmark scripts run end to end (tiny durations: they measure nothing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
# One short round, driven by the Python load generator (wrk may not be installed).
TINY = ("--duration", "0.5", "--rounds", "1", "--warmup", "0.2", "--load", "python")


def run_script(name: str, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args, *TINY],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()


def test_the_benchmark_runs_and_prints_its_table() -> None:
    lines = run_script("run.py", "--only", "sandbox (memory")
    rows = {
        line[:34].strip(): line[34:].split()
        for line in lines
        if line.startswith(("starlette ", "service "))
    }
    assert set(rows) == {"starlette", "service avis sandbox (memory RL)"}
    for name, columns in rows.items():
        connections, rate, errors = int(columns[0]), float(columns[1]), int(columns[7])
        assert connections == 50 and rate > 0 and errors == 0, (name, columns)
    assert any("target ≥ 0.70" in line for line in lines)


def test_the_configuration_comparison_runs() -> None:
    lines = run_script("compare.py", "pipeline", "core-only")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"pipeline", "core-only", "starlette"}
    assert all(float(cpu) > 0 for cpu, _ in rows.values())
