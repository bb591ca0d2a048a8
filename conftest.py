"""Settings shared by every test suite of the workspace."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# Property tests must not fail because the machine is slow or busy: no per-example deadline.
settings.register_profile("workspace", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("workspace")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
