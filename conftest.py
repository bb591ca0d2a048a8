"""Settings shared by every test suite of the workspace."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

# Property tests must not fail because the machine is slow or busy: no per-example deadline.
settings.register_profile("workspace", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# In CI the examples are derived from each test's name, so that a run can be reproduced
# exactly; exploration with fresh random examples happens on developers' machines.
settings.register_profile("ci", parent=settings.get_profile("workspace"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "workspace")

# The plugin authors' test kit: its fixtures (a local upstream, a PostgreSQL server) serve the
# workspace's own suites too.
pytest_plugins = ["api_particulier.testing"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _structlog_reset_after_each_test() -> Iterator[None]:
    """A test that runs the command line configures logging for the whole process (JSON
    lines, loggers cached on first use); put the defaults back so that a later test's
    ``structlog.testing.capture_logs`` sees every line, whatever order the tests run in."""
    yield
    structlog.reset_defaults()
