"""What the core lets observers see beside the journal row: the phase that refused a call,
the time and outcome of its upstream calls (``record_call``'s ``call``), the store's and
Redis's faults (``context.faults``), and the journal's backlog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from api_particulier import (
    Call,
    CallRecord,
    Denial,
    PluginContext,
    ProviderUnavailable,
    StoreUnavailable,
    Upstream,
    hookimpl,
)
from api_particulier.faults import Faults
from api_particulier.journal import Journal
from api_particulier.settings import JournalConfig
from api_particulier.testing import (
    ALL_ECHO_SCOPES,
    GOOD_PARAMS,
    EchoProvider,
    UpstreamServer,
    app_client,
    make_settings,
)

pytestmark = pytest.mark.anyio


class Observer:
    """Keeps what record_call gives, and its context."""

    def __init__(self) -> None:
        self.seen: list[tuple[CallRecord, str | None, float | None, str | None]] = []
        self.context: PluginContext | None = None

    @hookimpl
    def record_call(self, record: CallRecord, call: Call) -> None:
        self.seen.append((record, call.refused_in, call.upstream_ms, call.upstream_outcome))

    @hookimpl
    def startup(self, context: PluginContext) -> None:
        self.context = context


class RefuseWithHeader:
    @hookimpl
    def check_consent(self, call: Call) -> Denial | None:
        if "x-refuse-consent" in call.headers:
            return Denial(status=403, error="consent_required", reason="r", message="m")
        return None

    @hookimpl
    def check_rate_limit(self, call: Call) -> Denial | None:
        if "x-refuse-rate" in call.headers:
            return Denial(status=429, error="too_many_requests", reason="r", message="m")
        return None


async def test_the_refusing_phase_is_named(tmp_path: Path) -> None:
    observer = Observer()
    plugins = {"echo": EchoProvider, "refuse": RefuseWithHeader, "observer": observer}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        for headers in (
            {},
            {"X-Api-Key": key, "x-refuse-consent": "1"},
            {"X-Api-Key": key, "x-refuse-rate": "1"},
            {"X-Api-Key": key},
        ):
            await client.http.get(EchoProvider.path, params=GOOD_PARAMS, headers=headers)
    assert [(record.status, phase) for record, phase, _, _ in observer.seen] == [
        (401, "authenticate"),
        (403, "check_consent"),
        (429, "check_rate_limit"),
        (200, None),
    ]


async def test_upstream_time_and_outcome_reach_the_observers(
    tmp_path: Path, upstream: UpstreamServer
) -> None:
    upstream.answer("GET", "/ok", json={"ok": True}, delay=0.05)
    upstream.answer("GET", "/down", status=502)
    client_of: dict[str, Upstream] = {}

    async def ask(call: Call) -> Any:
        path = "/down" if call.subject()["numero"] == "99999" else "/ok"
        answer = await client_of["u"].request("GET", upstream.url + path)
        if answer.status >= 500:
            raise ProviderUnavailable()
        return EchoProvider().outcome(call)

    provider = EchoProvider()
    provider.outcome = ask
    observer = Observer()
    async with app_client(
        make_settings(tmp_path), plugins={"echo": provider, "observer": observer}
    ) as client:
        client_of["u"] = Upstream("test", read_timeout=2.0)
        await client_of["u"].open()
        try:
            key = await client.key(ALL_ECHO_SCOPES)
            headers = {"X-Api-Key": key}
            await client.http.get(EchoProvider.path, params=GOOD_PARAMS, headers=headers)
            await client.http.get(
                EchoProvider.path, params={**GOOD_PARAMS, "numero": "99999"}, headers=headers
            )
            await client.http.get(EchoProvider.path, params=GOOD_PARAMS)
        finally:
            await client_of["u"].close()
    (ok, _, ok_ms, ok_outcome), (down, _, _, down_outcome), (_, _, none_ms, none_outcome) = (
        observer.seen
    )
    assert (ok.status, ok_outcome) == (200, "ok")
    assert ok_ms is not None and 50 <= ok_ms <= ok.latency_ms
    assert (down.status, down_outcome) == (503, "upstream_error")
    assert (none_ms, none_outcome) == (None, None)


async def test_store_faults_are_counted_for_observers(tmp_path: Path) -> None:
    observer = Observer()
    async with app_client(
        make_settings(tmp_path), plugins={"echo": EchoProvider, "observer": observer}
    ) as client:
        assert observer.context is not None
        assert [p.name for p in observer.context.providers] == ["echo"]
        assert observer.context.faults.totals() == {}
        key = await client.key(ALL_ECHO_SCOPES)  # never used: not in the key check's cache

        async def unreachable(*args: Any) -> None:
            raise StoreUnavailable("PostgreSQL is not reachable (OSError)")

        client.app.key_store.find_active_key = unreachable  # type: ignore[method-assign,assignment]
        answer = await client.http.get(
            EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
        )
        assert answer.status_code == 503
        assert observer.context.faults.totals() == {"store": 1}


async def test_a_legacy_key_meets_the_stores_outage_as_any_key(tmp_path: Path) -> None:
    """Without the store, a key of the historic service's shape cannot be told from an
    unknown one: 503, as for every other key, never a 401 that says it is unknown."""
    async with app_client(make_settings(tmp_path), plugins={"echo": EchoProvider}) as client:

        async def unreachable(*args: Any) -> None:
            raise StoreUnavailable("PostgreSQL is not reachable (OSError)")

        client.app.key_store.has_imported_keys = unreachable  # type: ignore[method-assign,assignment]
        keyauth = client.app.pm.get_plugin("keyauth")
        assert keyauth is not None
        keyauth._imported_checked = 0.0  # the minute since the last look has passed
        legacy = "0123456789abcdef0123456789abcdef"
        answer = await client.http.get(
            EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": legacy}
        )
        assert answer.status_code == 503
        assert answer.json()["error"] == "service_unavailable"


class FailingStore:
    """A journal store whose writes fail until told otherwise."""

    def __init__(self) -> None:
        self.failing = True
        self.written: list[CallRecord] = []

    async def write_calls(self, records: list[CallRecord]) -> None:
        if self.failing:
            raise OSError("disk full")
        self.written.extend(records)


def row(time: float) -> CallRecord:
    return CallRecord(request_id=f"r{time}", time=time, route="/r", status=200, latency_ms=1.0)


async def test_the_journal_backlog_and_its_faults() -> None:
    store = FailingStore()
    faults = Faults()
    journal = Journal(store, JournalConfig(mode="async"), faults)  # type: ignore[arg-type]
    assert (journal.uncommitted, journal.lag(now=100.0)) == (0, 0.0)
    async with anyio.create_task_group() as group:
        journal.start(group)
        await journal.record(row(90.0))
        await journal.record(row(95.0))
        assert journal.uncommitted == 2
        assert journal.lag(now=100.0) == 10.0
        await journal.flush()  # fails: the rows wait for the next flush
        assert faults.totals() == {"store": 1}
        assert (journal.uncommitted, journal.lag(now=100.0)) == (2, 10.0)
        store.failing = False
        await journal.flush()
        assert (journal.uncommitted, journal.lag(now=100.0)) == (0, 0.0)
        assert [r.time for r in store.written] == [90.0, 95.0]
        group.cancel_scope.cancel()
