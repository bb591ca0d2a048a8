"""The benchmark runs end to end (tiny durations: it measures nothing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_the_benchmark_runs_and_prints_its_table() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--duration",
            "0.5",
            "--rounds",
            "1",
            "--warmup",
            "0.2",
            "--load",
            "python",
            "--only",
            "sandbox (memory",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
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
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH.with_name("compare.py")),
            "pipeline",
            "core-only",
            "--duration",
            "0.5",
            "--rounds",
            "1",
            "--warmup",
            "0.2",
            "--load",
            "python",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"pipeline", "core-only", "starlette"}
    assert all(float(cpu) > 0 for cpu, _ in rows.values())
