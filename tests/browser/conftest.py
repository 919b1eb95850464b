"""The merchant's journey in headless Chromium (Debian's package, driven by Playwright with
`executable_path`; Playwright never downloads a browser here). Screenshots of every page go to
var/screenshots/ (not committed)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from plugin.demo.stack import running_stack

CHROMIUM = os.environ.get("ORDERBRIDGE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# As root and on a closed network: no sandbox, and none of Chromium's background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def stack(database_url):
    with running_stack(outbox_retry_seconds=2, in_flight_seconds=3) as s:
        # what `make run` sets: new bol.com connections default to the sandbox's API
        s.ctx.settings = dataclasses.replace(s.ctx.settings, bol_api_url=s.bol_url,
                                             bol_token_url=s.bol_url + "/token")
        yield s


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def shoot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take
