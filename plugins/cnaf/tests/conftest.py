"""Fixtures of the CNAF plugin tests: a test PKI, the simulator, and data file access."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_particulier_cnaf.simulator.pki import TestPki, generate_pki
from api_particulier_cnaf.simulator.server import CnafSimulator

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return generate_pki(tmp_path_factory.mktemp("cnaf-pki"))


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """Another CA and its client certificate: one the simulator does not trust."""
    return generate_pki(tmp_path_factory.mktemp("foreign-pki"))


@pytest.fixture
def simulator(pki: TestPki) -> Iterator[CnafSimulator]:
    with CnafSimulator(pki, hang_seconds=5.0) as running:
        yield running


@pytest.fixture
def sample() -> dict[str, bytes]:
    """The recorded answers of the current generation, by file name."""
    return {path.name: path.read_bytes() for path in sorted(DATA.glob("*.multipart.txt"))}
