"""The statistics page in headless Chromium: no console error, every image named, and the
screenshot the operations guide shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from api_particulier import CallRecord
from api_particulier.testing import (
    app_client,
    assert_images_have_text_alternative,
    make_settings,
    run_async,
    save_screenshot,
)
from api_particulier_stats.plugin import StatsPlugin

if TYPE_CHECKING:
    from playwright.sync_api import Page

DAY = 86400.0


def fill_journal(tmp_path: Path) -> None:
    """Thirty days of successful calls, in a rhythm of working days."""

    async def write() -> None:
        now = time.time()
        rows = []
        for day in range(30):
            weekday = time.gmtime(now - day * DAY).tm_wday
            for provider, per_day in (("dgfip", 40), ("cnaf", 15)):
                calls = per_day // 6 if weekday >= 5 else per_day + (day * 7) % 11
                rows += [
                    CallRecord(
                        request_id=f"{provider}-{day}-{n}",
                        time=now - day * DAY - n,
                        route=f"/api/{provider}",
                        status=200,
                        latency_ms=3.0,
                        provider=provider,
                    )
                    for n in range(calls)
                ]
        async with app_client(make_settings(tmp_path), plugins={"stats": StatsPlugin}) as client:
            await client.app.journal_store.write_calls(rows)

    run_async(write)


def test_the_statistics_page_in_a_browser(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    fill_journal(tmp_path)
    url = live_server(make_settings(tmp_path), plugins={"stats": StatsPlugin})
    browser_page.goto(f"{url}/stats")
    assert browser_page.title() == "Statistiques — API Particulier"
    headline = browser_page.locator("#justificatifs-evites").inner_text()
    assert headline.endswith("justificatifs papier évités ces 30 derniers jours")
    charts = browser_page.get_by_role("img")
    assert charts.count() == 2
    assert browser_page.locator("table tbody tr").count() == 30
    assert_images_have_text_alternative(browser_page)
    save_screenshot(browser_page, "stats")
