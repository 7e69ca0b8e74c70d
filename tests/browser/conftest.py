"""Headless Chromium (Debian's, installed by `make test`) driven by Playwright."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.slack import FakeSlack

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
async def shop(tmp_path: Path, rasa_url: str, slack: FakeSlack) -> AsyncIterator[Frontdesk]:
    """The app with employees' photos served locally."""
    config = always_open_config(tmp_path, photos=slack.url)
    async with Frontdesk(
        settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, rasa_url, slack.url)
    ) as app:
        yield app
