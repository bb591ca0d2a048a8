"""Properties of one request through the pipeline, for any mix of plugin outcomes.

Short-circuit soundness, phase monotonicity, ``record_call`` exactly once, and containment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from api_particulier import Call, Denial, Principal, ProviderUnavailable, hookimpl
from api_particulier.testing import HookRecorder, app_client, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoBody, EchoProvider, Person

SECRET_TEXT = "leaked-secret-1234567890123"
PHASE_INDEX = {"authenticate": 0, "check_consent": 1, "check_rate_limit": 2, "fetch": 3}
Outcome = str  # "allow" | "deny" | "raise"


class Scripted:
    """A policy plugin whose outcome per phase is set per example, and which logs its runs."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.log = log
        self.outcomes: dict[str, Outcome] = {}

    def _act(self, phase: str) -> Denial | None:
        self.log.append((phase, self.name))
        outcome = self.outcomes.get(phase, "allow")
        if outcome == "raise":
            raise RuntimeError(SECRET_TEXT)
        if outcome == "deny":
            return Denial(
                status=403 if phase == "check_consent" else 429,
                error=f"denied_by_{self.name}",
                reason="r",
                message="m",
            )
        return None

    def authenticate(self, call: Call) -> Principal | Denial | None:
        outcome = self.outcomes.get("authenticate", "allow")
        self.log.append(("authenticate", self.name))
        if outcome == "raise":
            raise RuntimeError(SECRET_TEXT)
        if outcome == "deny":
            return Denial(status=401, error=f"denied_by_{self.name}", reason="r", message="m")
        if outcome == "pass":
            return None
        return Principal(
            key_id="k", application_id="a", application_name="n", scopes=frozenset(ALL_ECHO_SCOPES)
        )

    async def check_consent(self, call: Call) -> Denial | None:
        await anyio.lowlevel.checkpoint()
        return self._act("check_consent")

    def check_rate_limit(self, call: Call) -> Denial | None:
        return self._act("check_rate_limit")


RANK = {"tryfirst": 0, "normal": 1, "trylast": 2}


def scripted(name: str, log: list[tuple[str, str]], bucket: str) -> Scripted:
    """A Scripted plugin whose hooks are all marked ``tryfirst``, unmarked or ``trylast``."""
    marker = hookimpl(tryfirst=bucket == "tryfirst", trylast=bucket == "trylast")

    def marked(phase: str) -> Any:
        # A function of its own: a marker is an attribute set on the function it marks.
        original = getattr(Scripted, phase)

        def implementation(self: Scripted, call: Call) -> Any:
            return original(self, call)

        implementation.__name__ = phase
        return marker(implementation)

    methods = {
        phase: marked(phase) for phase in ("authenticate", "check_consent", "check_rate_limit")
    }
    kind: type[Scripted] = type(f"Scripted_{bucket}", (Scripted,), methods)
    return kind(name, log)


outcomes = st.sampled_from(["allow", "deny", "raise"])
plugin_outcomes = st.fixed_dictionaries(
    {
        "authenticate": st.sampled_from(["allow", "deny", "raise", "pass"]),
        "check_consent": outcomes,
        "check_rate_limit": outcomes,
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scripts=st.lists(
        st.tuples(plugin_outcomes, st.sampled_from(list(RANK))), min_size=1, max_size=3
    ),
    provider_outcome=st.sampled_from(["ok", "provider_error", "raise"]),
)
def test_short_circuit_soundness(
    scripts: list[tuple[dict[str, Outcome], str]], provider_outcome: str
) -> None:
    """Any mix of outcomes, and of tryfirst / normal / trylast markers: nothing after the
    first refusal runs, and the order inside a phase is (marker, name)."""
    log: list[tuple[str, str]] = []
    plugins: dict[str, Any] = {}
    buckets: dict[str, str] = {}
    for index, (script, bucket) in enumerate(scripts):
        plugin = scripted(f"p{index}", log, bucket)
        plugin.outcomes = script
        plugins[plugin.name] = plugin
        buckets[plugin.name] = bucket
    provider = EchoProvider()

    def fetch(call: Call) -> Any:
        log.append(("fetch", "echo"))
        if provider_outcome == "raise":
            raise RuntimeError(SECRET_TEXT)
        if provider_outcome == "provider_error":
            raise ProviderUnavailable()
        return EchoBody(personne=Person(nom="N", age=1), revenu=1, secret=SECRET_TEXT)

    provider.outcome = fetch
    recorder = HookRecorder()
    plugins["echo"] = provider
    plugins["zz_recorder"] = recorder

    async def scenario() -> tuple[int, str]:
        with tempfile.TemporaryDirectory() as data_dir:
            async with app_client(make_settings(Path(data_dir)), plugins=plugins) as client:
                response = await client.http.get("/api/v2/echo", params=GOOD_PARAMS)
                return response.status_code, response.text

    status, text = anyio.run(scenario)

    # Expected outcome from a reference model of the pipeline.
    names = sorted(
        (name for name in plugins if name.startswith("p")),
        key=lambda name: (RANK[buckets[name]], name),
    )
    expected_status = 200
    expected_log: list[tuple[str, str]] = []
    stopped = False
    principal = False
    for name in names:  # authenticate: first non-None wins
        expected_log.append(("authenticate", name))
        outcome = plugins[name].outcomes["authenticate"]
        if outcome == "pass":
            continue
        stopped = outcome != "allow"
        expected_status = {"deny": 401, "raise": 500}.get(outcome, 200)
        principal = outcome == "allow"
        break
    if not stopped and not principal:
        expected_status, stopped = 401, True
    for phase in ("check_consent", "check_rate_limit"):
        for name in names:
            if stopped:
                break
            expected_log.append((phase, name))
            outcome = plugins[name].outcomes[phase]
            if outcome != "allow":
                stopped = True
                expected_status = (
                    500 if outcome == "raise" else (403 if phase == "check_consent" else 429)
                )
    if not stopped:
        expected_log.append(("fetch", "echo"))
        expected_status = {"ok": 200, "provider_error": 503, "raise": 500}[provider_outcome]

    assert status == expected_status
    assert log == expected_log
    phases = [PHASE_INDEX[phase] for phase, _ in log]
    assert phases == sorted(phases)
    assert [name for name, _ in recorder.calls].count("record_call") == 1
    assert recorder.records[0].status == status
    assert SECRET_TEXT not in text
