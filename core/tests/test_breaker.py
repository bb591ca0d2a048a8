"""The circuit breaker: its states by a clock moved by hand, then through ``Upstream``
against a real local server that fails."""

from __future__ import annotations

import pytest
from aiohttp import web
from api_particulier.breaker import CircuitBreaker
from api_particulier.errors import ProviderUnavailable
from api_particulier.testing import FakeClock
from api_particulier.upstream import Upstream
from hypothesis import given
from hypothesis import strategies as st

from .test_upstream import opened, serve


def breaker(clock: FakeClock, failures: int = 3, cooldown: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker("test", failures=failures, cooldown=cooldown, clock=clock)


def state(circuit: CircuitBreaker) -> str:
    return circuit.state


def test_opens_after_failures_in_a_row_and_probes_once_after_the_cooldown() -> None:
    clock = FakeClock()
    circuit = breaker(clock)
    for _ in range(2):
        assert circuit.admit()
        circuit.failed()
    assert circuit.admit()
    circuit.succeeded()  # a success resets the count
    for _ in range(3):
        assert circuit.admit()
        circuit.failed()
    assert state(circuit) == "open"
    assert not circuit.admit()
    assert circuit.retry_after() == 10
    clock.advance(9.5)
    assert circuit.retry_after() == 1
    assert not circuit.admit()
    clock.advance(0.5)
    assert state(circuit) == "half_open"
    assert circuit.admit()  # the probe
    assert not circuit.admit()  # everyone else waits for its outcome
    circuit.failed()
    assert state(circuit) == "open"
    clock.advance(10)
    assert circuit.admit()
    circuit.succeeded()
    assert state(circuit) == "closed"
    assert all(circuit.admit() for _ in range(5))


def test_a_probe_that_tells_nothing_lets_the_next_call_probe() -> None:
    clock = FakeClock()
    circuit = breaker(clock, failures=1)
    circuit.admit()
    circuit.failed()
    clock.advance(10)
    assert circuit.admit()
    circuit.released()
    assert circuit.admit()


@given(st.lists(st.sampled_from(["ok", "fail", "release", "wait"]), max_size=60))
def test_an_open_circuit_lets_at_most_one_call_through(steps: list[str]) -> None:
    """Whatever happens, while the circuit is not closed no two calls are in flight."""
    clock = FakeClock()
    circuit = breaker(clock, failures=2, cooldown=5)
    in_flight = 0
    for step in steps:
        if step == "wait":
            clock.advance(2.5)
            continue
        closed = state(circuit) == "closed"
        if circuit.admit():
            in_flight += 1
            assert closed or in_flight == 1
            {"ok": circuit.succeeded, "fail": circuit.failed, "release": circuit.released}[step]()
            in_flight -= 1


@pytest.mark.anyio
async def test_an_upstream_answering_5xx_is_no_longer_called_until_the_cooldown() -> None:
    hits = 0

    async def failing(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.Response(status=503)

    async with serve(failing) as url:
        upstream = Upstream("flaky", breaker_failures=3, breaker_cooldown=60)
        async with opened(upstream):
            for _ in range(3):
                response = await upstream.request("GET", url)
                assert response.status == 503
            assert upstream.describe()["circuit"] == {
                "state": "open",
                "consecutive_failures": 3,
                "retry_after": 60,
            }
            for _ in range(5):
                with pytest.raises(ProviderUnavailable) as refused:
                    await upstream.request("GET", url)
                assert refused.value.retry_after == 60
    assert hits == 3


@pytest.mark.anyio
async def test_connection_failures_open_the_circuit() -> None:
    from .test_upstream import free_port

    upstream = Upstream("closed-port", breaker_failures=2, breaker_cooldown=60, connect_retries=0)
    async with opened(upstream):
        url = f"http://127.0.0.1:{free_port()}/"
        for _ in range(2):
            with pytest.raises(ProviderUnavailable) as failed:
                await upstream.request("GET", url)
            assert failed.value.retry_after is None
        with pytest.raises(ProviderUnavailable) as refused:
            await upstream.request("GET", url)
        assert refused.value.retry_after == 60
