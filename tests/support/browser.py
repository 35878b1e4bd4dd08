"""Headless Debian Chromium driven by Playwright (no downloads, no network, run as root)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.factories import PASSWORD

CHROMIUM = os.environ.get("YUTANG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_SWITCHES = [
    "--no-sandbox",  # machines here run tests as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_SWITCHES
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in on the console's login form and wait for the overview."""
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/")
