"""The admin console in headless Chromium, on the real app (the Rasa double, no Slack):
an admin signs in with a one-time link, sends a rule elsewhere, sees the replay say who
the past conversations would move to, applies it, and a second instance sharing the
database routes by it without a restart; links and forms that must not work, do not;
and the demo loop, a widget customer answered from the console as the employee.
With CONSOLE_SCREENSHOTS=1 a last test seeds a realistic month and saves each page
into docs/console/ (1280x800)."""

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, insert, select

from benchmarks import seeding
from benchmarks.month import month
from bot.settings import load_routing_config
from bot.sign_in import LINK_LIFETIME, hashed
from bot.store import conversations as stored
from bot.tables import assignments, sign_in_links, utcnow
from tests.conftest import PostgresDatabase, eventually
from tests.fakes.frontdesk import ROOT, Frontdesk, always_open_config, settings_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.visitor import Visitor

ORDER = "where is my order 12345"
CHARGED = "I was charged twice for my subscription this month"
SHOTS = ROOT / "docs" / "console"
SCREENSHOTS = bool(os.environ.get("CONSOLE_SCREENSHOTS"))


@pytest.fixture
async def two(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[tuple[Frontdesk, Frontdesk]]:
    """Two instances on one database: PostgreSQL when TEST_DATABASE_URL is set (a version
    reaches the other by LISTEN/NOTIFY), else a SQLite file (by the other's 2 s poll)."""
    async with contextlib.AsyncExitStack() as stack:
        admin_url = os.environ.get("TEST_DATABASE_URL")
        url = (
            await stack.enter_async_context(PostgresDatabase(admin_url))
            if admin_url
            else f"sqlite:///{tmp_path / 'fd.db'}"
        )
        settings = settings_for(url, always_open_config(tmp_path), fake_rasa.url, None)
        first = await stack.enter_async_context(Frontdesk(settings))
        second = await stack.enter_async_context(Frontdesk(settings))
        yield first, second


async def introduced(app: Frontdesk, text: str) -> str:
    """A new widget customer writes `text`; the bot's introduction of their person."""
    async with Visitor(app.url) as visitor:
        await visitor.say(text)
        said = await visitor.message(lambda m: "will answer you here" in m["text"])
    return str(said["text"])


async def sign_in(page: Page, app: Frontdesk, employee: str = "sam") -> str:
    token = await app.runtime.sign_in.link(employee)
    await page.goto(f"{app.url}/admin/sign-in?token={token}")
    await page.get_by_role("button", name="Sign in as").click()
    await expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    return token


@pytest.mark.skipif(not SCREENSHOTS, reason="CONSOLE_SCREENSHOTS=1 saves docs/console/*.png")
async def test_screenshots_of_a_realistic_month(
    browser: Browser, tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    """Every page over a month of seeded history (benchmarks/month.py), 1280x800."""
    url, config = f"sqlite:///{tmp_path / 'fd.db'}", always_open_config(tmp_path)
    await seeding.write(url, month(utcnow(), load_routing_config(config)))
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    async with Frontdesk(settings_for(url, config, fake_rasa.url, None)) as app:
        await sign_in(page, app)
        await page.get_by_role("navigation", name="Console").get_by_role(
            "link", name="Roster").click()  # fmt: skip
        await page.get_by_role("button", name="Away: Priya Sharma").click()  # an audit entry
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in [("home", ""), ("roster", "/roster"), ("rules", "/rules"),
                           ("playground", "/playground"), ("conversations", "/conversations"),
                           ("report", "/report"), ("audit", "/audit"),
                           ("config", "/config")]:  # fmt: skip
            await page.goto(f"{app.url}/admin/console{path}")
            if name == "report":  # past the period chooser, to the charts
                await page.locator("#topics").evaluate("heading => heading.scrollIntoView()")
            await page.screenshot(path=SHOTS / f"{name}.png")
        async with app.store.reading() as connection:
            transferred = (await connection.execute(  # the newest with a transfer
                select(assignments.c.conversation_id).group_by(assignments.c.conversation_id)
                .having(func.count() > 1).order_by(assignments.c.conversation_id.desc())
            )).scalar()  # fmt: skip
        await page.goto(f"{app.url}/admin/console/conversations/{transferred}")
        await page.screenshot(path=SHOTS / "conversation.png")
        await page.goto(f"{app.url}/admin/console/rules")
        orders = page.get_by_role("group", name="Rule 4: orders and delivery")
        await orders.get_by_label("Sends to").fill("employee: sam")
        await page.get_by_role("button", name="What if…").click()
        await expect(page.locator("#moved")).to_contain_text("would go to a different person")
        await page.screenshot(path=SHOTS / "what-if.png")
    await context.close()


async def test_an_admin_changes_a_rule_checks_the_replay_and_applies_it_everywhere(
    browser: Browser, page: Page, two: tuple[Frontdesk, Frontdesk]
) -> None:
    first, second = two
    for _ in range(2):
        assert "Sam Rivera" not in await introduced(first, ORDER)
    token = await sign_in(page, first)

    console = page.get_by_role("navigation", name="Console")
    await console.get_by_role("link", name="Roster").click()
    await expect(page.get_by_role("heading", name="Roster", level=1)).to_be_visible()
    await page.keyboard.press("Tab")  # keyboard users skip the navigation first
    await expect(page.get_by_role("link", name="Skip to the page")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    await console.get_by_role("link", name="Rules").click()
    orders = page.get_by_role("group", name="Rule 4: orders and delivery")
    await expect(orders.get_by_label("Sends to")).to_have_value("team: orders")
    await orders.get_by_label("Sends to").fill("employee: sam")
    await page.get_by_role("button", name="What if…").click()
    moved = page.locator("#moved")
    await expect(moved).to_contain_text("2 would go to a different person")
    load = page.get_by_role("table", name="Load per person")
    await expect(load.get_by_role("row", name="Sam Rivera")).to_contain_text("2")
    await page.get_by_role("button", name="Apply this candidate").click()
    await expect(page.get_by_role("status")).to_contain_text("Applied as version 2")

    await eventually(lambda: _in_force(second, 2), timeout=5)  # no restart
    assert (await introduced(second, ORDER)).startswith("Sam Rivera")

    # The Config page checks the text as it is typed, naming line and key.
    await page.goto(f"{first.url}/admin/console/config")
    yaml = page.get_by_role("textbox", name="config.yml")
    await yaml.fill((await yaml.input_value()).replace("max_open: 6", "max_open: many", 1))
    await expect(page.locator("#checked")).to_contain_text("max_open: Input should be")
    await expect(page.locator("#checked")).to_contain_text("config.yml:")

    # A link works once; a made-up one never.
    for used in (token, "not-a-link-we-made"):
        await page.goto(f"{first.url}/admin/sign-in?token={used}")
        await expect(page.get_by_role("heading", name="Not signed in")).to_be_visible()


async def test_forged_posts_and_a_non_admins_link_are_refused(
    browser: Browser, page: Page, two: tuple[Frontdesk, Frontdesk]
) -> None:
    first, second = two
    await sign_in(page, first)
    # Another site (the other instance's port: same site, other origin) posts a form to
    # the console, carrying the admin's cookie but not the CSRF token.
    await page.goto(second.url)
    async with page.expect_navigation():
        await page.evaluate(
            """url => { const f = document.createElement('form'); f.method = 'post';
            f.action = url; const i = document.createElement('input'); i.name = 'away';
            i.value = '1'; f.append(i); document.body.append(f); f.submit(); }""",
            f"{first.url}/admin/console/roster/priya/away",
        )
    await expect(page.locator("body")).to_contain_text("refused")
    async with first.store.reading() as connection:
        assert not (await stored.roster(connection)).get("priya", stored.EmployeeState()).away

    # A link for someone who is not an admin (made before they were removed, say).
    token, now = "a-link-for-priya", utcnow()
    async with first.store.transaction() as connection:
        await connection.execute(insert(sign_in_links), {
            "token_hash": hashed(token), "employee_id": "priya", "created_at": now,
            "expires_at": now + LINK_LIFETIME, "used_at": None,
        })  # fmt: skip
    stranger = await browser.new_context()
    other = await stranger.new_page()
    await other.goto(f"{first.url}/admin/sign-in?token={token}")
    await expect(other.locator("main")).to_contain_text("Priya Sharma is not an admin")
    await other.goto(f"{first.url}/admin/console/rules")
    await expect(other.locator("main")).to_contain_text("You are not signed in")
    await stranger.close()


async def test_the_demo_loop_a_customer_is_answered_from_the_console(
    browser: Browser, page: Page, two: tuple[Frontdesk, Frontdesk]
) -> None:
    first, _second = two
    await page.goto(first.url)
    await page.get_by_label("Message").fill(CHARGED)
    await page.get_by_role("button", name="Send").click()
    log = page.get_by_role("log")
    await expect(log).to_contain_text("will answer you here")
    said = await log.inner_text()
    name = "Priya Sharma" if "Priya Sharma" in said else "Tomás García"

    admin_context = await browser.new_context()
    admin = await admin_context.new_page()
    await sign_in(admin, first)
    await admin.get_by_role("link", name="Conversations").click()
    await admin.get_by_role("link", name="#1").click()
    await expect(admin.locator(".demo")).to_contain_text("This is what")
    await admin.get_by_label(f"Reply as {name}").fill("Hello, I have refunded the second charge.")
    await admin.get_by_role("button", name=f"Send as {name}").click()
    await expect(admin.get_by_role("status")).to_contain_text("Sent as the employee.")
    await admin_context.close()

    reply = log.locator("article.fd-employee")
    await expect(reply).to_contain_text("Hello, I have refunded the second charge.")
    await expect(reply).to_contain_text(name)


async def _in_force(app: Frontdesk, version: int) -> bool:
    return app.runtime.versions.version == version
