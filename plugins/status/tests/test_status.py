"""The status of the providers: the live DGFiP backend against its simulator made
unhealthy then healthy again, uptime over 24 hours / 30 / 90 days and incidents on a fake
clock, one prober at a time through the lease, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from api_particulier.app import create_app
from api_particulier.store import migrate
from api_particulier.testing import FakeClock, TestClient, app_client, make_settings
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_dgfip.simulator.server import SvairSimulator
from api_particulier_status.page import french_duration, french_percent
from api_particulier_status.plugin import StatusPlugin
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

DAY = 86400.0


def iso(time: float) -> str:
    return dt.datetime.fromtimestamp(time, dt.UTC).isoformat(timespec="seconds")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store'}"
    return str(request.getfixturevalue("postgres_url"))


async def upgraded(settings: Any, plugins: dict[str, object]) -> None:
    """PostgreSQL's tables, made as a deployer makes them (``db upgrade``)."""
    if str(settings.core.store).startswith("postgresql"):
        await migrate(
            settings, apply=True, plugins=create_app(settings, plugins=plugins).migrations
        )


@asynccontextmanager
async def watched(
    tmp_path: Path, store_url: str, simulator: SvairSimulator, clock: FakeClock
) -> AsyncIterator[tuple[TestClient, StatusPlugin]]:
    status = StatusPlugin(clock=clock, run=False)
    plugins: dict[str, object] = {"status": status, "dgfip": DgfipPlugin(), "cnaf": CnafPlugin()}
    settings = make_settings(
        tmp_path,
        store=store_url,
        plugins={"dgfip": {"backend": "svair", "url": simulator.base_url}, "status": {}},
    )
    await upgraded(settings, dict(plugins))
    async with app_client(settings, plugins=plugins) as client:
        yield client, status


async def status_of(client: TestClient, provider: str) -> dict[str, Any]:
    answer = await client.http.get("/api/status")
    assert answer.status_code == 200
    report = answer.json()
    (found,) = [p for p in report["providers"] if p["name"] == provider]
    return dict(found)


async def test_a_provider_down_then_up_again(tmp_path: Path, store_url: str) -> None:
    clock = FakeClock()
    start = clock()
    simulator = SvairSimulator(hang_seconds=3)
    await simulator.start()
    port = urlsplit(simulator.base_url).port or 0
    try:
        async with watched(tmp_path, store_url, simulator, clock) as (client, status):
            assert await status.probe_round()
            assert (await status_of(client, "dgfip"))["state"] == "up"

            await simulator.stop()  # DGFiP's site goes away
            for _ in range(2):
                clock.advance(60)
                await status.probe_round()
            down = await status_of(client, "dgfip")
            assert down["state"] == "down"
            assert down["incidents"] == [{"start": iso(start + 60), "end": None, "seconds": None}]
            page = (await client.http.get("/status")).text
            assert "En cours" in page and "Indisponible" in page

            await simulator.start(port=port)  # and comes back
            clock.advance(60)
            await status.probe_round()
            dgfip = await status_of(client, "dgfip")
            cnaf = await status_of(client, "cnaf")
            report = (await client.http.get("/api/status")).json()
    finally:
        await simulator.stop()
    assert report["state"] == "up"
    assert dgfip["state"] == "up"
    assert dgfip["checked_at"] == iso(start + 180)
    assert dgfip["incidents"] == [
        {"start": iso(start + 60), "end": iso(start + 180), "seconds": 120.0}
    ]
    assert dgfip["uptime"] == {"24h": 50.0, "30d": 50.0, "90d": 50.0}
    assert cnaf["uptime"] == {"24h": 100.0, "30d": 100.0, "90d": 100.0}
    assert cnaf["incidents"] == []
    assert len(dgfip["days"]) == 90
    today = dgfip["days"][-1]
    assert today == {"day": iso(start)[:10], "uptime": 50.0}
    assert all(day["uptime"] is None for day in dgfip["days"][:-1])


async def test_uptime_windows_and_retention(tmp_path: Path, store_url: str) -> None:
    clock = FakeClock()
    status = StatusPlugin(clock=clock, run=False)
    settings = make_settings(tmp_path, store=store_url)
    from api_particulier.testing import EchoProvider

    echo = EchoProvider()
    plugins: dict[str, object] = {"status": status, "echo": echo}
    await upgraded(settings, plugins)
    async with app_client(settings, plugins=plugins) as client:
        # 100 days ago: down, then up a minute later (beyond 90 days: purged); 40 days ago:
        # down; 10 days ago: up; today: down, then up a minute later.
        begin = clock()
        steps = ((100, 0, False), (100, 60, True), (40, 0, False), (10, 0, True), (0, 0, False))
        for days_ago, seconds, healthy in (*steps, (0, 60, True)):
            clock.advance(begin + (100 - days_ago) * DAY + seconds - clock())
            echo.healthy = healthy
            await status.probe_round()
        report = await status_of(client, "echo")
    assert report["uptime"] == {"24h": 50.0, "30d": 66.667, "90d": 50.0}
    assert report["incidents"] == [
        {"start": iso(begin + 100 * DAY), "end": iso(begin + 100 * DAY + 60), "seconds": 60.0},
        {"start": iso(begin + 60 * DAY), "end": iso(begin + 90 * DAY), "seconds": 30 * DAY},
    ]
    assert sum(day["uptime"] is not None for day in report["days"]) == 3


async def test_one_prober_at_a_time(tmp_path: Path, store_url: str) -> None:
    """Two hosts on one store: the lease lets one probe; the other takes over once it
    expires, or at once when the holder stops."""
    from api_particulier.testing import EchoProvider

    clock = FakeClock()
    settings = make_settings(tmp_path, store=store_url, plugins={"status": {"interval": 60}})
    one, two = StatusPlugin(clock=clock, run=False), StatusPlugin(clock=clock, run=False)
    await upgraded(settings, {"status": StatusPlugin, "echo": EchoProvider})
    host_one = create_app(settings, plugins={"status": one, "echo": EchoProvider()})
    host_two = create_app(settings, plugins={"status": two, "echo": EchoProvider()})
    async with host_two.running():
        async with host_one.running():
            assert await one.probe_round()
            assert not await two.probe_round()
            clock.advance(60)
            assert await one.probe_round()  # renewed by its holder
            assert not await two.probe_round()
            clock.advance(91)  # the holder missed its round: the lease ran out
            assert await two.probe_round()
            assert not await one.probe_round()
            clock.advance(60)
        # host one stopped; host two holds the lease and keeps it
        assert await two.probe_round()
    rounds = await _probes(settings, store_url)
    assert rounds == 4


async def _probes(settings: Any, store_url: str) -> int:
    from api_particulier.testing import EchoProvider

    app = create_app(settings, plugins={"status": StatusPlugin(run=False), "echo": EchoProvider()})
    async with app.running():
        rows = await app.database.fetch_all("SELECT COUNT(*) FROM status_probes")
    return int(rows[0][0])


async def test_the_page_without_any_probe(tmp_path: Path) -> None:
    plugins = {"status": StatusPlugin(run=False), "dgfip": DgfipPlugin}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        page = await client.http.get("/status")
        report = (await client.http.get("/api/status")).json()
    assert page.status_code == 200
    assert "pas encore été mesuré" in page.text
    assert report["state"] == "unknown"
    assert [p["state"] for p in report["providers"]] == ["unknown"]
    assert page.text.count("<rect ") == 90
    assert re.search(
        r"Disponibilité sur les 24 dernières heures : <strong>pas de mesure", page.text
    )


@given(st.floats(min_value=0, max_value=100))
def test_percentages_are_written_the_french_way(value: float) -> None:
    text = french_percent(value)
    assert text.endswith("\u202f%") and "." not in text
    assert abs(float(text[:-2].replace(",", ".")) - value) <= 0.0005


@given(st.floats(min_value=0, max_value=90 * DAY))
def test_durations_add_up(seconds: float) -> None:
    total = 0
    number = 0
    for chunk in french_duration(seconds).split(" "):
        if chunk.isdigit():
            number = int(chunk)
        else:
            total += number * {"j": 1440, "h": 60, "min": 1}[chunk]
    assert total == max(1, round(seconds / 60))


async def test_the_background_prober_runs_on_its_own(tmp_path: Path) -> None:
    import anyio
    from api_particulier.testing import EchoProvider

    settings = make_settings(tmp_path, plugins={"status": {"interval": 1}})
    async with app_client(
        settings, plugins={"status": StatusPlugin, "echo": EchoProvider}
    ) as client:
        with anyio.fail_after(15):
            while True:
                report = (await client.http.get("/api/status")).json()
                if report["providers"][0]["state"] == "up":
                    break
                await anyio.sleep(0.5)
    assert report["providers"][0]["uptime"]["24h"] == 100.0


async def test_a_disabled_provider_is_no_longer_reported(tmp_path: Path, store_url: str) -> None:
    """A provider that failed, then was disabled, keeps its history in the store: the page
    reports the enabled providers only, and does not stay down for it."""
    from api_particulier.testing import EchoProvider

    settings = make_settings(tmp_path, store=store_url)
    echo = EchoProvider()
    echo.healthy = False
    status = StatusPlugin(clock=FakeClock(), run=False)
    plugins: dict[str, object] = {"status": status, "echo": echo}
    await upgraded(settings, plugins)
    async with app_client(settings, plugins=plugins) as client:
        await status.probe_round()
        assert (await client.http.get("/api/status")).json()["state"] == "down"
    status = StatusPlugin(clock=FakeClock(), run=False)
    async with app_client(settings, plugins={"status": status}) as client:
        report = (await client.http.get("/api/status")).json()
    assert report["providers"] == []
    assert report["state"] != "down"
