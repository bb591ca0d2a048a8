"""Fixtures of the habilitation tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store-backed test runs on the embedded SQLite store and on PostgreSQL."""
    if request.param == "sqlite":
        return "sqlite"
    return str(request.getfixturevalue("postgres_url"))
