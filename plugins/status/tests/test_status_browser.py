"""The status page in headless Chromium: no console error, every image named, and the
screenshot the operations guide shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from api_particulier.testing import (
    app_client,
    assert_images_have_text_alternative,
    make_settings,
    run_async,
    save_screenshot,
)
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_status.history import History
from api_particulier_status.plugin import StatusPlugin

if TYPE_CHECKING:
    from playwright.sync_api import Page

DAY = 86400.0


def fill_history(tmp_path: Path) -> None:
    """90 days of probes every 4 hours, with two outages of the first provider."""

    async def write() -> None:
        plugins = {"status": StatusPlugin(run=False), "dgfip": DgfipPlugin, "cnaf": CnafPlugin}
        async with app_client(make_settings(tmp_path), plugins=plugins) as client:
            history = History(client.app.database)
            now = time.time()
            for step in range(90 * 6, -1, -1):
                moment = now - step * 4 * 3600
                down = step in (200, 201, 37)
                await history.record("dgfip", moment, not down)
                await history.record("cnaf", moment, True)

    run_async(write)


def test_the_status_page_in_a_browser(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    fill_history(tmp_path)
    plugins = {"status": StatusPlugin(run=False), "dgfip": DgfipPlugin, "cnaf": CnafPlugin}
    url = live_server(make_settings(tmp_path), plugins=plugins)
    browser_page.goto(f"{url}/status")
    assert browser_page.title() == "État du service — API Particulier"
    assert "Tous les services fonctionnent" in browser_page.locator("main").inner_text()
    assert browser_page.get_by_role("img").count() == 2
    incidents = browser_page.locator("#source-dgfip ~ ul li, section li").all_inner_texts()
    assert sum(text.startswith("Du ") for text in incidents) == 2
    assert_images_have_text_alternative(browser_page)
    save_screenshot(browser_page, "status")
