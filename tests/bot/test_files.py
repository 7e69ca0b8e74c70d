"""Employees' files to customers: in memory through the core (config.yml `files:` decides,
a note says why a file was refused, a file deleted since is reported), then over real
HTTP: to the widget as a signed, expiring link, and one over config.yml's size limit
refused with its note in the thread. (To Telegram as photo and document,
and customers' Telegram files into Slack: test_telegram.py.)"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.roles import FileContent
from bot.tables import Message
from bot.widget_files import WidgetFiles
from tests.bot.test_ratings import card
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.harness import Harness
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import BOT_TOKEN, FakeSlack, send_event, thread_reply
from tests.fakes.visitor import Visitor

CHARGED = "I was charged twice for my subscription this month"
PNG = bytes.fromhex(  # 2x2, as tests/fakes/slack.py serves photos
    "89504e470d0a1a0a0000000d494844520000000200000002080600000072b60d240000001149444154"
    "789c63304e3bf31f8419600c00508e0991207c36c50000000049454e44ae426082"
)
EXE_REFUSED = "tool.exe (its type, application/x-msdownload, is not one customers can be sent)"


async def test_an_allowed_file_goes_with_the_reply_and_a_refused_one_is_noted(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        receipt = harness.desk.share("receipt.png", PNG, "image/png")
        tool = harness.desk.share("tool.exe", b"MZ", "application/x-msdownload")
        await harness.employee("priya").writes("Your receipt:", files=[receipt, tool])
        sent = ada.received[-1]
        assert (sent.text, sent.files) == (
            "Your receipt:",
            (FileContent("receipt.png", "image/png", PNG),),
        )
        assert [text for _, text in harness.desk.notes] == [
            f"Not sent to the customer: {EXE_REFUSED}"
        ]
        assert len(harness.desk.reactions) == 1  # delivered, file and all


async def test_a_reply_of_refused_files_only_stays_internal(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        seen = len(ada.received)
        big = harness.desk.share("scan.pdf", b"%PDF" + b"0" * 11_000_000, "application/pdf")
        assert await harness.employee("priya").writes("", files=[big]) == "internal"
        assert len(ada.received) == seen
        assert [text for _, text in harness.desk.notes] == [
            "Not sent to the customer: scan.pdf (11.0 MB, more than the 10 MB allowed)"
        ]


async def test_a_file_deleted_from_the_desk_before_it_went_is_reported(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.channel.unreachable.add("ada")
        receipt = harness.desk.share("receipt.png", PNG, "image/png")
        await harness.employee("priya").writes("Your receipt:", files=[receipt])
        del harness.desk.files[receipt.reference]
        harness.channel.unreachable.clear()
        harness.clock.advance(minutes=1)
        await harness.settle()
        (note,) = [text for _, text in harness.desk.notes]
        assert note.startswith("This reply did not reach the customer on the test chat")
        assert "deleted" in note


# Over real HTTP ---------------------------------------------------------------------


def shared(posted: dict[str, Any], text: str, *files: dict[str, Any]) -> dict[str, Any]:
    """An employee's message in the card's thread with files, as Slack sends it."""
    event = thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], text)
    return {**event, "subtype": "file_share", "files": list(files), "upload": True}


async def test_a_widget_customer_gets_a_signed_link_that_expires(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)
        posted = await card(slack)
        picture = slack.add_file("receipt.png", PNG, "image/png")
        pdf = slack.add_file("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")
        await send_event(frontdesk.url, shared(posted, "Both attached", picture, pdf))
        reply = await visitor.message(lambda m: m["kind"] == "employee")
    image, document = reply["files"]
    assert (image["name"], image["type"], image["inline"]) == ("receipt.png", "image/png", True)
    assert (document["name"], document["inline"]) == ("invoice.pdf", False)
    async with httpx.AsyncClient(base_url=frontdesk.url) as client:
        shown = await client.get(image["url"])
        assert (shown.status_code, shown.content) == (200, PNG)
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["content-disposition"].startswith("inline")
        fetched = await client.get(document["url"])
        assert fetched.content == b"%PDF-1.4 invoice"
        assert fetched.headers["content-type"] == "application/octet-stream"
        assert fetched.headers["content-disposition"] == "attachment; filename*=UTF-8''invoice.pdf"
        forged = image["url"].replace("/0?", "/1?")  # the other file, with this one's signature
        assert (await client.get(forged)).status_code == 403
        async with frontdesk.store.session() as session:
            message = await session.get(Message, reply["id"])
        assert message is not None
        runtime = frontdesk.runtime
        old = WidgetFiles(BOT_TOKEN, frontdesk.store, runtime.slack.desk,
                          lambda: runtime.outbox.clock() - timedelta(hours=2))  # fmt: skip
        assert (await client.get(old.links(message)[0]["url"])).status_code == 403  # expired
        del slack.files[picture["id"]]  # deleted from Slack since
        assert (await client.get(image["url"])).status_code == 410


async def test_a_file_over_the_configured_size_is_refused_with_a_note_in_the_thread(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    """config.yml `files: {max_mb: 0.1}`: a 250 kB PDF stays on the desk, noted in the
    thread; the small picture beside it reaches the widget."""
    config = always_open_config(tmp_path, more="\nfiles: {max_mb: 0.1}\n")
    settings = settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    async with Frontdesk(settings) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        posted = await card(slack)
        picture = slack.add_file("receipt.png", PNG, "image/png")
        scan = slack.add_file("scan.pdf", b"%PDF" + b"0" * 249_996, "application/pdf")
        await send_event(app.url, shared(posted, "Both attached", picture, scan))
        reply = await visitor.message(lambda m: m["kind"] == "employee")
        assert [f["name"] for f in reply["files"]] == ["receipt.png"]

        async def noted() -> list[str]:
            thread = slack.posts_in(posted["channel"], posted["ts"])
            return [p["text"] for p in thread if "Not sent to the customer" in p["text"]]

        assert await eventually(noted) == [
            ":warning: Not sent to the customer: scan.pdf (0.2 MB, more than the 0.1 MB allowed)"
        ]
        async with app.store.session() as session:
            message = await session.get(Message, reply["id"])
        assert message is not None
        assert [f["name"] for f in message.details["files"]] == ["receipt.png"]
