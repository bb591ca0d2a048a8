"""Pages opened in a real browser: Debian's Chromium driven by Playwright.

Nothing is downloaded: Playwright drives the Chromium installed on the machine
(``/usr/bin/chromium``, Debian's ``chromium`` package). Where it is not installed the browser
tests are skipped, saying so — except when ``API_PARTICULIER_REQUIRE_BROWSER`` is set (CI
sets it), where a missing browser fails them.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import anyio

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SKIP_REASON = "Chromium is not installed (apt-get install chromium): browser tests skipped"
REQUIRED = "API_PARTICULIER_REQUIRE_BROWSER"

# A browser that talks to nothing but the pages under test: no background services, no
# component updates, no first-run screens (the machines running the tests reach no outside
# host, and each refused connection is noise in the logs).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

# Where screenshots are written: the documentation's images when asked
# (``API_PARTICULIER_SCREENSHOTS=docs/images``), else a temporary folder, so that a test run
# leaves the working tree as it found it.
SCREENSHOTS_VARIABLE = "API_PARTICULIER_SCREENSHOTS"


T = TypeVar("T")


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` to its end from a browser test and give its result (or raise its
    exception): in a thread of its own, since the test's thread runs Playwright's loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, work).result()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def browser_required() -> bool:
    return bool(os.environ.get(REQUIRED))


_IMAGES_WITHOUT_ALTERNATIVE = """() => {
  const faults = [];
  const named = (el) => el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) faults.push('img ' + img.getAttribute('src'));
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.closest('[aria-hidden="true"]')) continue;
    const title = svg.querySelector(':scope > title');
    if (!(named(svg) || title) || !svg.getAttribute('role')) {
      faults.push('svg ' + (svg.id || svg.outerHTML.slice(0, 60)));
    }
  }
  for (const el of document.querySelectorAll('[role="img"]:not(svg)')) {
    if (!named(el)) faults.push(el.tagName + ' role=img');
  }
  return faults;
}"""


def assert_images_have_text_alternative(page: Page) -> None:
    """Every ``<img>`` has an ``alt`` (empty for decoration) and every ``<svg>`` that is not
    hidden from assistive technologies has a role and a name (``aria-label``,
    ``aria-labelledby`` or a ``<title>``)."""
    missing = page.evaluate(_IMAGES_WITHOUT_ALTERNATIVE)
    assert not missing, f"images without a text alternative: {missing}"


def screenshot_folder() -> Path:
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    if chosen:
        return Path(chosen)
    return Path(tempfile.gettempdir()) / "api-particulier-screenshots"


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """``<name>.png``: the page as the documentation shows it, written under
    ``$API_PARTICULIER_SCREENSHOTS`` (``docs/images`` to refresh the documentation's
    images) or, by default, a temporary folder."""
    folder = screenshot_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class PageWatch:
    """What went wrong while a page was open: console errors, uncaught exceptions, and
    sub-resources (style sheets, scripts, fonts, images) that failed or answered an error.

    A document answering 4xx is not a fault (a form shown again with its errors answers
    422); the browser's own "Failed to load resource" console lines are left to the
    response watch, which knows the resource's type.
    """

    def __init__(self) -> None:
        self.faults: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.faults.append(f"page error: {error}"))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.faults.append(f"console error: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.faults.append(f"{response.status} for {response.url}")

    def _failed(self, request: Request) -> None:
        # A load cancelled because the page moved on (a form sent, a link followed) while
        # it was in flight — typically the favicon the browser asks for after the page —
        # is not a broken resource: those fail otherwise (an error status, a refused
        # connection, an outside host blocked).
        if request.resource_type != "document" and request.failure != "net::ERR_ABORTED":
            self.faults.append(f"request failed: {request.url} ({request.failure})")


def keep_to_loopback(route: Route) -> None:
    """Let a page reach the service under test only: anything else is refused."""
    host = urlsplit(route.request.url).hostname or ""
    if host in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort("blockedbyclient")
