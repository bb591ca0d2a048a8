"""Public statistics from the journal, on SQLite and on PostgreSQL: the daily figures in
JSON, their refusals, and the page with its chart and table."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from api_particulier import CallRecord
from api_particulier.store import migrate
from api_particulier.testing import EchoProvider, TestClient, app_client, make_settings
from api_particulier_stats.chart import bar_chart, nice_ceiling
from api_particulier_stats.plugin import StatsPlugin
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC).timestamp()
DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store'}"
    return str(request.getfixturevalue("postgres_url"))


def row(time: float, provider: str | None = "dgfip", status: int = 200) -> CallRecord:
    return CallRecord(
        request_id=f"r-{time}-{provider}-{status}",
        time=time,
        route="/api/v2/avis-imposition" if provider else "/api/introspect",
        status=status,
        latency_ms=2.0,
        provider=provider,
    )


@asynccontextmanager
async def stats_client(tmp_path: Path, store_url: str) -> AsyncIterator[TestClient]:
    # The rows name providers this test does not run: the deployer's labels name them.
    labels = {"dgfip": "Avis d'impôt sur le revenu (DGFiP)", "cnaf": "CNAF"}
    settings = make_settings(tmp_path, store=store_url, plugins={"stats": {"labels": labels}})
    plugins = {"stats": StatsPlugin(clock=lambda: NOW), "echo": EchoProvider}
    if store_url.startswith("postgresql"):
        from api_particulier.app import create_app

        migrations = create_app(settings, plugins=plugins).migrations
        await migrate(settings, apply=True, plugins=migrations)
    async with app_client(settings, plugins=plugins) as client:
        rows = [
            *(row(NOW - 60 * i) for i in range(3)),
            row(NOW - 120, status=404),
            row(NOW - 30, provider="cnaf"),
            row(NOW - 90, provider="cnaf"),
            row(NOW - 2 * DAY),
            row(NOW - 29 * DAY - 3600),  # on the first day of the period
            row(NOW - 40 * DAY),  # before it
            row(NOW - 10, provider=None),  # a core route: no provider, no data
        ]
        await client.app.journal_store.write_calls(rows)
        yield client


async def test_daily_figures_per_provider(tmp_path: Path, store_url: str) -> None:
    async with stats_client(tmp_path, store_url) as client:
        answer = await client.http.get("/api/stats/daily", params={"days": "30"})
        week = (await client.http.get("/api/stats/daily", params={"days": "7"})).json()
        default = (await client.http.get("/api/stats/daily")).json()
        counter = await client.http.get("/api/stats")
    assert answer.status_code == 200
    figures = answer.json()
    assert (figures["days"], figures["since"], figures["until"]) == (30, "2026-11-04", "2026-12-03")
    assert figures["providers"] == ["cnaf", "dgfip", "echo"]
    assert figures["totals"] == {"cnaf": 2, "dgfip": 5, "echo": 0}
    assert figures["total"] == 7
    assert len(figures["daily"]) == 30
    assert figures["daily"][-1] == {
        "day": "2026-12-03",
        "total": 5,
        "calls": {"cnaf": 2, "dgfip": 3, "echo": 0},
    }
    assert figures["daily"][-3]["calls"]["dgfip"] == 1
    assert figures["daily"][0]["calls"]["dgfip"] == 1
    assert sum(day["total"] for day in figures["daily"]) == figures["total"]
    assert (week["total"], len(week["daily"])) == (6, 7)
    assert default["days"] == 30
    # The core's counter is still a bare integer.
    assert isinstance(counter.json(), int)


@pytest.mark.parametrize("days", ["0", "367", "abc", "-3", "1e3", "30 ", "²", "٣"])
async def test_a_period_that_is_not_one_is_refused(tmp_path: Path, days: str) -> None:
    async with app_client(make_settings(tmp_path), plugins={"stats": StatsPlugin}) as client:
        answer = await client.http.get("/api/stats/daily", params={"days": days})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_request",
        "reason": "Invalid parameters: days",
        "message": "Le nombre de jours doit être un entier de 1 à 366",
    }


async def test_the_page_says_how_many_certificates_were_avoided(
    tmp_path: Path, store_url: str
) -> None:
    async with stats_client(tmp_path, store_url) as client:
        page = await client.http.get("/stats")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))
    assert "7 justificatifs papier évités ces 30 derniers jours" in text
    assert "Avis d'impôt sur le revenu (DGFiP)" in text
    # One chart per provider, each with its title and bars, and the table of the figures.
    assert page.text.count('<svg role="img"') == 3
    assert page.text.count("<rect ") == 90
    assert "3 décembre 2026 : 3 appels" in page.text
    assert "<caption>Appels réussis par jour et par source de données</caption>" in page.text
    assert "<script" not in page.text.split("</main>")[0]


@given(st.integers(min_value=0, max_value=10**9))
def test_the_axis_top_is_a_round_value_above_the_highest(value: int) -> None:
    top = nice_ceiling(value)
    assert top >= max(value, 1)
    assert int(str(top).rstrip("0") or "0") in (1, 2, 5)
    assert top < max(value, 1) * 5 + 1


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=120))
def test_bars_stay_inside_the_plot(values: list[int]) -> None:
    chart = bar_chart([(f"2026-01-{1 + i % 28:02d}", v) for i, v in enumerate(values)])
    for bar in chart.bars:
        assert chart.left <= bar.x and bar.x + bar.width <= chart.right + 0.01
        assert chart.top - 0.01 <= bar.y and bar.y + bar.height <= chart.bottom + 0.01


async def test_the_route_is_in_a_valid_openapi_document(tmp_path: Path) -> None:
    from openapi_spec_validator import validate

    plugins = {"stats": StatsPlugin, "echo": EchoProvider}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        document = (await client.http.get("/api/open-api.json")).json()
    validate(document)
    daily = document["paths"]["/api/stats/daily"]["get"]
    assert daily["parameters"][0]["schema"]["maximum"] == 366
    assert "/api/stats" in document["paths"]  # the core's, unchanged


async def test_without_days_the_period_is_30_days_or_the_most_allowed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, plugins={"stats": {"max_days": 7}})
    async with app_client(settings, plugins={"stats": StatsPlugin}) as client:
        answer = await client.http.get("/api/stats/daily")
        document = (await client.http.get("/api/open-api.json")).json()
    assert answer.status_code == 200
    assert answer.json()["days"] == 7
    parameter = document["paths"]["/api/stats/daily"]["get"]["parameters"][0]
    assert parameter["schema"]["default"] == 7
