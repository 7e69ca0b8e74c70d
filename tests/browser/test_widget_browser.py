"""The widget in headless Chromium, through the demo page, with the real app, Rasa and
the Slack double: what a customer sees and does (rating a conversation with the Rasa
double: the NLU plays no part in it)."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, WebSocket, expect
from sqlmodel import select

from bot.settings import load_routing_config
from bot.tables import Message, Rating
from tests.bot.test_escalation import seed_replies
from tests.conftest import eventually
from tests.fakes.frontdesk import ROOT, Frontdesk, always_open_config, settings_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import FakeSlack, press, send_event, thread_reply

CHARGED_TWICE = "I was charged twice for my subscription this month"
BILLING = {
    "U0PRIYA01": ("Priya Sharma", "Billing specialist"),
    "U0TOMAS01": ("Tomás García", "Subscriptions and billing"),
}


async def card(slack: FakeSlack) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]

    return (await eventually(found))[0]  # type: ignore[index]


async def write(page: Page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_visitor_is_introduced_and_hears_back_by_name(
    page: Page, shop: Frontdesk, slack: FakeSlack
) -> None:
    await page.goto(shop.url)
    log = page.get_by_role("log")
    await expect(log).to_be_visible()
    await write(page, CHARGED_TWICE)
    await expect(log).to_contain_text("a bot")
    await expect(log).to_contain_text("will answer you here")

    posted = await card(slack)
    employee = posted["channel"][1:]
    name, title = BILLING[employee]
    await expect(log).to_contain_text(f"{name} ({title}) will answer you here")
    intro = log.locator(".fd-intro")  # no replies yet to go by: their hours
    await expect(intro).to_contain_text(f"{name}{title}Usually answers Mon-Sun 00:00-24:00")
    assert CHARGED_TWICE in str(posted["blocks"])

    await send_event(
        shop.url,
        thread_reply(
            posted["channel"], posted["ts"], employee, "Hi, I've refunded the duplicate charge."
        ),
    )
    reply = log.locator("article.fd-employee")
    await expect(reply).to_contain_text("Hi, I've refunded the duplicate charge.")
    await expect(reply).to_contain_text(name)
    await expect(reply).to_contain_text(title)
    photo = reply.get_by_role("img", name=name)
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.naturalWidth") > 0

    # Every message shows who wrote it.
    authors = await log.locator("article .fd-author b").all_text_contents()
    assert len(authors) == await log.locator("article").count()
    assert set(authors) >= {"You", "Acme assistant", name}


async def test_a_reload_keeps_identity_and_history(
    page: Page, shop: Frontdesk, slack: FakeSlack
) -> None:
    await page.goto(shop.url)
    await write(page, CHARGED_TWICE)
    posted = await card(slack)
    await send_event(
        shop.url,
        thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], "Refund on its way."),
    )
    log = page.get_by_role("log")
    await expect(log).to_contain_text("Refund on its way.")
    token = await page.evaluate("() => JSON.stringify(localStorage)")
    assert "token" in token
    assert "token=" not in page.url

    await page.reload()
    await expect(page.get_by_role("log")).to_contain_text(CHARGED_TWICE)
    await expect(page.get_by_role("log")).to_contain_text("Refund on its way.")
    await write(page, "Thanks! Got it.")

    async def relayed() -> bool:
        return len(slack.posts_in(posted["channel"], posted["ts"])) == 1

    await eventually(relayed)  # the same conversation, the same thread


async def test_text_is_rendered_as_text(page: Page, shop: Frontdesk, slack: FakeSlack) -> None:
    await page.goto(shop.url)
    await write(page, "I'd like to speak to a person please")
    posted = await card(slack)
    attack = '<img src=x onerror="window.pwned=1"><b>bold?</b>'
    await write(page, attack)
    log = page.get_by_role("log")
    await expect(log.locator("article.fd-customer").last).to_contain_text(attack)
    await send_event(
        shop.url,
        thread_reply(
            posted["channel"],
            posted["ts"],
            posted["channel"][1:],
            "<script>window.pwned=2</script> &lt;i&gt;hi&lt;/i&gt;",
        ),
    )
    await expect(log.locator("article.fd-employee")).to_contain_text("<i>hi</i>")
    assert await page.evaluate("() => window.pwned") is None
    assert await log.locator("img[src='x'], script, .fd-text *").count() == 0


async def test_a_quick_reply_answers_the_clarifying_question(
    page: Page, shop: Frontdesk, slack: FakeSlack
) -> None:
    """Which topics are offered is the model's ranking: the first that needs nothing
    more (an order number) is chosen, and the card says it is about that topic."""
    await page.goto(shop.url)
    await write(page, "what's the weather like in Paris tomorrow")
    await expect(page.locator(".fd-quick button").first).to_be_visible()
    triage = load_routing_config(ROOT / "config.yml").triage
    topics = {text: intent for intent, text in triage.topics.items()}
    offered = await page.locator(".fd-quick button").all_inner_texts()
    label = next(t for t in offered if t in topics and not triage.collect.get(topics[t]))
    await page.get_by_role("button", name=label).click()
    await expect(page.get_by_role("log")).to_contain_text("will answer you here")
    posted = await card(slack)
    assert f"about {topics[label].replace('_', ' ')} from" in posted["text"]


async def test_messages_written_while_disconnected_are_sent_once_on_reconnect(
    page: Page, shop: Frontdesk
) -> None:
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await page.goto(shop.url)
    await write(page, "hello")
    status = page.get_by_role("status").last
    await expect(page.get_by_role("log")).to_contain_text("a bot")
    connected = len(sockets)
    await shop.stop()
    await expect(status).to_have_text("Reconnecting…")
    await write(page, "are you still there?")
    await expect(page.locator(".fd-sending")).to_have_count(1)

    async def tried_in_vain() -> bool:
        return any(socket.is_closed() for socket in sockets[connected:])

    await eventually(tried_in_vain)  # a reconnection failed while the app was down
    await expect(page.locator(".fd-sending")).to_have_count(1)
    await shop.start()
    await expect(page.locator(".fd-sending")).to_have_count(0, timeout=30_000)
    await expect(status).to_have_text("Connected")
    async with shop.store.session() as session:
        bodies = (
            await session.exec(select(Message.body).where(Message.author == "customer"))
        ).all()
    assert sorted(bodies) == ["are you still there?", "hello"]


@pytest.fixture
async def quick_shop(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> AsyncIterator[Frontdesk]:
    """`shop` with the Rasa double: for what the widget does, whatever the NLU says."""
    config = always_open_config(tmp_path, photos=slack.url)
    async with Frontdesk(
        settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    ) as app:
        yield app


async def closed(page: Page, shop: Frontdesk, slack: FakeSlack) -> dict[str, Any]:
    """A conversation the customer began on the page, closed by its employee: its card."""
    await page.goto(shop.url)
    await write(page, CHARGED_TWICE)
    posted = await card(slack)
    conversation = posted["blocks"][-2]["block_id"].removeprefix("conversation:")
    close = {"type": "button", "action_id": "frontdesk_close", "value": conversation}
    await press(shop.url, posted["channel"][1:], close, posted["channel"])
    return posted


async def test_a_closed_conversation_is_rated_with_accessible_buttons(
    page: Page, quick_shop: Frontdesk, slack: FakeSlack
) -> None:
    posted = await closed(page, quick_shop, slack)
    stars = page.get_by_role("group", name="Rate this conversation")
    await expect(stars).to_be_visible()
    names = [f"Rate {score} out of 5" for score in range(1, 6)] + ["Skip rating"]
    for name in names:
        await expect(stars.get_by_role("button", name=name, exact=True)).to_be_visible()
    assert await stars.get_by_role("button").count() == len(names)
    await page.get_by_label("Comment (optional)").fill("Quick & <b>kind</b>")
    await stars.get_by_role("button", name="Rate 4 out of 5").click()

    log = page.get_by_role("log")
    await expect(log.get_by_role("status")).to_have_text(
        "You rated this conversation 4 out of 5. Thank you!"
    )
    await expect(stars).to_have_count(0)  # answered: the buttons are gone
    await expect(log).to_contain_text("Thank you for your rating!")

    async def in_thread() -> list[str]:
        thread = slack.posts_in(posted["channel"], posted["ts"])
        return [p["text"] for p in thread if "rated this conversation" in p["text"]]

    (line,) = await eventually(in_thread)  # type: ignore[misc]
    assert line.endswith(
        "rated this conversation 4 out of 5 ★★★★☆: “Quick &amp; &lt;b&gt;kind&lt;/b&gt;”"
    )

    await page.reload()  # the answer is remembered, and no buttons come back
    await expect(page.get_by_role("log")).to_contain_text("You rated this conversation 4 out of 5")
    await expect(page.get_by_role("group", name="Rate this conversation")).to_have_count(0)


async def test_a_rating_can_be_skipped_in_the_browser(
    page: Page, quick_shop: Frontdesk, slack: FakeSlack
) -> None:
    posted = await closed(page, quick_shop, slack)
    stars = page.get_by_role("group", name="Rate this conversation")
    await page.get_by_label("Comment (optional)").fill("not sent: a skip has no comment")
    await stars.get_by_role("button", name="Skip rating", exact=True).click()
    log = page.get_by_role("log")
    await expect(log.get_by_role("status")).to_have_text("Rating skipped.")
    await expect(stars).to_have_count(0)

    async def answered() -> list[Rating]:
        async with quick_shop.store.session() as session:
            return list((await session.exec(select(Rating))).all())

    (rating,) = await eventually(answered)  # type: ignore[misc]
    assert (rating.score, rating.comment) == (None, None)
    await page.reload()  # the skip is remembered: no buttons come back
    await expect(page.get_by_role("log")).to_contain_text("Rating skipped.")
    await expect(page.get_by_role("group", name="Rate this conversation")).to_have_count(0)
    assert not [p for p in slack.posts_in(posted["channel"], posted["ts"]) if "rated" in p["text"]]
    await expect(log).not_to_contain_text("Thank you for your rating!")


async def test_an_employees_image_and_document_render_accessibly(
    page: Page, quick_shop: Frontdesk, slack: FakeSlack
) -> None:
    await page.goto(quick_shop.url)
    await write(page, CHARGED_TWICE)
    posted = await card(slack)
    png = await (await page.request.get(f"{slack.url}/photos/receipt.png")).body()
    files = [slack.add_file("receipt.png", png, "image/png"),
             slack.add_file("invoice.pdf", b"%PDF-1.4 " + b"x" * 2400, "application/pdf")]  # fmt: skip
    event = thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], "Both here.")
    await send_event(quick_shop.url, {**event, "subtype": "file_share", "files": files})

    reply = page.get_by_role("log").locator("article.fd-employee")
    picture = reply.get_by_role("img", name="receipt.png")
    await expect(picture).to_be_visible()
    assert await picture.evaluate("img => img.complete && img.naturalWidth") == 2
    document = reply.get_by_role("link", name="Download invoice.pdf (2 KB)")
    await expect(document).to_be_visible()
    assert await document.get_attribute("download") == "invoice.pdf"


async def test_the_intro_card_gives_the_reply_time_the_bot_promises(
    page: Page, quick_shop: Frontdesk, slack: FakeSlack
) -> None:
    """Both billing people usually replied within about 10 minutes lately: the card
    says that, as the bot's text does, not their hours."""
    for person in ("priya", "tomas"):
        before = datetime.now(UTC) - timedelta(days=2)
        await seed_replies(quick_shop.store, person, [8, 9, 10, 11, 45], before)
    await page.goto(quick_shop.url)
    await write(page, CHARGED_TWICE)
    log = page.get_by_role("log")
    await expect(log).to_contain_text("usually replies within about 10 minutes.")
    intro = log.locator(".fd-intro .fd-note")
    await expect(intro).to_have_text([re.compile(r"^(Billing specialist|Subscriptions and billing)$"),
                                      "Usually replies within about 10 minutes"])  # fmt: skip
