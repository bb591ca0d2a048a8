"""The benchmark scripts run end to end (tiny durations: they measure nothing here)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_particulier.plugins import load_enabled
from api_particulier.settings import load_settings
from api_particulier.testing import app_client

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


def test_the_transparency_comparison_runs() -> None:
    lines = run_script("compare.py", "transparency-off", "transparency-on")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"transparency-off", "transparency-on", "starlette"}
    assert all(float(cpu) > 0 for cpu, _ in rows.values())


def _bench_apps() -> Any:
    spec = importlib.util.spec_from_file_location("bench_apps", BENCH / "apps.py")
    assert spec is not None and spec.loader is not None
    apps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(apps)
    return apps


def test_the_service_answers_the_benchmark_notice_byte_for_byte(tmp_path: Path) -> None:
    # The references answer these bytes: the comparison holds only if the service does too.
    apps = _bench_apps()

    async def fetch() -> bytes:
        settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
        async with app_client(settings, plugins=load_enabled(settings)) as client:
            scopes = {s for p in client.app.providers for r in p.routes for s in r.scopes}
            key = await client.key(sorted(scopes))
            answer = await client.http.get(
                "/api/v2/avis-imposition",
                params={"numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"},
                headers={"X-Api-Key": key},
            )
            assert answer.status_code == 200
            return answer.content

    assert asyncio.run(fetch()) == apps.BODY


def test_the_starlette_references_answer_the_notice_byte_for_byte() -> None:
    # The ratios compare endpoints that answer the same bytes; one encodes them per request.
    apps = _bench_apps()

    async def fetch(app: object) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return await client.get("/")

    for app in (apps.starlette_app, apps.starlette_bytes_app):
        answer = asyncio.run(fetch(app))
        assert answer.status_code == 200
        assert answer.content == apps.BODY
        assert answer.json()["revenuFiscalReference"] == 17580


def test_the_postgresql_benchmark_runs(postgres_server: object) -> None:
    # postgres_server: skipped, saying why, where PostgreSQL is not installed.
    lines = run_script("postgresql.py", "--journal-seconds", "2", "--journal-rate", "2000")
    rates = {
        line[:24].strip(): float(line[24:].split()[0].replace(",", ""))
        for line in lines
        if line.startswith("sandbox on ")
    }
    assert set(rates) == {"sandbox on SQLite", "sandbox on PostgreSQL"}
    assert all(rate > 0 for rate in rates.values())
    assert any(line.startswith("PostgreSQL ÷ SQLite req/s") for line in lines)
    assert any("rows pending, each second" in line for line in lines)


def test_the_release_comparison_runs() -> None:
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.stdout.strip() != "true":
        pytest.skip("not a git work tree: no release to check out")
    worktrees_before = _worktrees()
    lines = run_script("releases.py", "HEAD")
    rows = {line[:24].strip(): line[24:].split() for line in lines if line[:1].isalpha()}
    assert {"starlette", "this tree", "HEAD"} <= set(rows)
    for name in ("this tree", "HEAD"):
        assert float(rows[name][1]) > 0, rows[name]
    # The release's work tree is gone with the run.
    assert _worktrees() == worktrees_before


def _worktrees() -> str:
    return subprocess.run(
        ["git", "worktree", "list", "--porcelain"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
