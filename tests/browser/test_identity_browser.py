"""Frontdesk.identify, Frontdesk.logout and the script tag's data-user-* attributes in
headless Chromium: a customer the site vouches for sees one history in two browsers; a
wrong hash is refused and said so."""

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.slack import FakeSlack

SECRET = "site-backend-secret"


def identity(user_id: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return {"id": user_id, "name": "Ada Lovelace", "email": "ada@example.com", "hash": digest}


@pytest.fixture
async def site(tmp_path: Path, rasa_url: str, slack: FakeSlack) -> AsyncIterator[Frontdesk]:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'fd.db'}", always_open_config(tmp_path), rasa_url, slack.url
    )
    async with Frontdesk(replace(settings, widget_secret=SECRET)) as app:
        yield app


async def signed_in(browser: Browser, site: Frontdesk, who: dict[str, str]) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(site.url)
    await expect(page.get_by_text("Connected")).to_be_visible()
    await page.evaluate("who => Frontdesk.identify(who)", who)
    return page


async def test_a_signed_in_customer_sees_one_history_in_two_browsers(
    browser: Browser, site: Frontdesk
) -> None:
    laptop = await signed_in(browser, site, identity("user-1815"))
    await expect(laptop.get_by_text("Connected")).to_be_visible()
    await laptop.get_by_label("Message").fill("hello")
    await laptop.get_by_role("button", name="Send").click()
    await expect(laptop.get_by_role("log")).to_contain_text("a bot")

    phone = await signed_in(browser, site, identity("user-1815"))
    await expect(phone.get_by_role("log")).to_contain_text("hello")

    await phone.evaluate("() => Frontdesk.logout()")
    await expect(phone.get_by_text("Connected")).to_be_visible()
    await expect(phone.get_by_role("log")).not_to_contain_text("hello")


async def test_a_wrong_hash_is_refused_and_said_so(browser: Browser, site: Frontdesk) -> None:
    page = await signed_in(browser, site, identity("user-1815", secret="guessed"))
    await expect(
        page.get_by_text("The site's signature for this visitor is wrong.")
    ).to_be_visible()


async def shop_page(browser: Browser, site: Frontdesk, html: str) -> Page:
    """A page of the site's own origin (Chromium lets only such a page reach a local
    server) with `html` in it."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{site.url}/healthz")
    await page.set_content(html)
    return page


async def test_the_script_tags_attributes_vouch_for_the_visitor(
    browser: Browser, site: Frontdesk
) -> None:
    """A site that knows who is signed in when it renders the page says so on the tag."""
    laptop = await signed_in(browser, site, identity("user-1815"))
    await laptop.get_by_label("Message").fill("hello from the laptop")
    await laptop.get_by_role("button", name="Send").click()
    await expect(laptop.get_by_role("log")).to_contain_text("a bot")

    attributes = " ".join(f'data-user-{k}="{v}"' for k, v in identity("user-1815").items())
    shop = (
        f'<!doctype html><title>Shop</title><script src="/widget.js" {attributes} defer></script>'
    )
    page = await shop_page(browser, site, shop)
    await page.get_by_role("button", name="Chat with us").click()
    await expect(page.get_by_role("log")).to_contain_text("hello from the laptop")

    forged = shop.replace(identity("user-1815")["hash"], identity("user-1815", "guessed")["hash"])
    stranger = await shop_page(browser, site, forged)
    await stranger.get_by_role("button", name="Chat with us").click()
    await expect(
        stranger.get_by_text("The site's signature for this visitor is wrong.")
    ).to_be_visible()
    await expect(stranger.get_by_role("log")).not_to_contain_text("hello from the laptop")
