"""The figures kept per worker: invariants over any sequence of calls, and the files they
are written to read back by prometheus-client's own collector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_particulier import Call, CallRecord
from api_particulier_metrics.figures import Figures
from api_particulier_metrics.files import WorkerFiles
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

PHASES = st.sampled_from([None, "authenticate", "check_consent", "check_rate_limit"])
OUTCOMES = st.sampled_from([None, "ok", "upstream_error", "timeout", "connect_error"])
CALLS = st.lists(
    st.tuples(
        st.sampled_from([200, 400, 401, 403, 404, 429, 502, 503, 504]),
        st.floats(min_value=0, max_value=20_000),
        PHASES,
        OUTCOMES,
        st.sampled_from(["dgfip", "cnaf", None]),
    ),
    max_size=60,
)


def call_of(refused_in: str | None, outcome: str | None) -> Call:
    call = Call(
        scope={"type": "http"},
        receive=_never,
        headers={},
        request_id="r",
        route=None,
        route_path="/api/x",
        query={},
    )
    call.refused_in = refused_in
    call.upstream_outcome = outcome
    call.upstream_ms = None if outcome is None else 12.5
    return call


async def _never() -> Any:
    raise AssertionError("not read")


def record_of(status: int, latency_ms: float, provider: str | None) -> CallRecord:
    return CallRecord(
        request_id="r",
        time=0.0,
        route="/api/x",
        status=status,
        latency_ms=latency_ms,
        provider=provider,
    )


@given(CALLS)
def test_every_call_is_counted_once(calls: list[tuple[int, float, Any, Any, Any]]) -> None:
    figures = Figures()
    for status, latency, phase, outcome, provider in calls:
        figures.record(record_of(status, latency, provider), call_of(phase, outcome))
    assert sum(figures.requests.totals.values()) == len(calls)
    durations = figures.duration.series.values()
    assert sum(sum(series[:-1]) for series in durations) == len(calls)
    seconds = sum(series[-1] for series in durations)
    assert seconds == pytest.approx(sum(c[1] for c in calls) / 1000)
    refusals = (
        sum(figures.rate_limited.totals.values())
        + sum(figures.consent_refused.totals.values())
        + sum(figures.auth_refused.totals.values())
    )
    assert refusals == sum(1 for c in calls if c[2] is not None)
    # No upstream figure for a refused call or a call of no provider.
    upstream = sum(figures.upstream_outcomes.totals.values())
    assert upstream <= sum(1 for c in calls if c[2] is None and c[4] is not None)


@settings(max_examples=20)
@given(CALLS)
def test_the_files_read_back_as_the_figures(
    tmp_path_factory: Any, calls: list[tuple[int, float, Any, Any, Any]]
) -> None:
    directory: Path = tmp_path_factory.mktemp("metrics")
    figures = Figures()
    files = WorkerFiles(directory)
    files.prepare()
    for index, (status, latency, phase, outcome, provider) in enumerate(calls):
        figures.record(record_of(status, latency, provider), call_of(phase, outcome))
        if index % 7 == 0:
            files.write(figures.families())  # written as it goes, only what changed
    files.write(figures.families())
    files.close()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    text = generate_latest(registry).decode()
    total = 0.0
    counted = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "api_particulier_requests_total":
                total += sample.value
            if sample.name == "api_particulier_request_duration_seconds_count":
                counted += sample.value
    assert total == len(calls)
    assert counted == len(calls)
