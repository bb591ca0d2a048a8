"""Watching a test's requests and moving its time: a hook recorder and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..markers import hookimpl
from ..types import Call, CallRecord, Denial, Principal


@dataclass
class HookRecorder:
    """A plugin that records every request-phase call it sees, in order."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)

    @hookimpl(trylast=True)
    def authenticate(self, call: Call) -> Principal | Denial | None:
        self.calls.append(("authenticate", call.route_path))
        return None

    @hookimpl(trylast=True)
    def check_consent(self, call: Call) -> Denial | None:
        self.calls.append(("check_consent", call.route_path))
        return None

    @hookimpl(trylast=True)
    def check_rate_limit(self, call: Call) -> Denial | None:
        self.calls.append(("check_rate_limit", call.route_path))
        return None

    @hookimpl
    def record_call(self, record: CallRecord) -> None:
        self.calls.append(("record_call", record.route))
        self.records.append(record)


@dataclass
class FakeClock:
    """A clock tests move by hand: ``clock()`` reads it, ``clock.advance(s)`` moves it."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
