"""Delivery receipts through the core, in memory: an employee's reply that the customer's
channel accepted is marked delivered on the desk once; one that cannot arrive, or did
not after every retry, is reported in the thread instead. Then the widget over real
HTTP (Telegram's receipts are in test_telegram.py)."""

import asyncio
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.outbox import RetryLater
from bot.receipts import shown
from bot.store import queue
from bot.tables import Message, OutboxJob
from tests.bot.test_ratings import card
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.harness import Harness
from tests.fakes.slack import FakeSlack, send_event, thread_reply
from tests.fakes.visitor import Visitor

CHARGED = "I was charged twice for my subscription this month"


async def replies(harness: Harness) -> list[Message]:
    async with harness.store.session() as session:
        found = await session.exec(select(Message).where(Message.author == "employee"))
        return list(found.all())


async def kinds(harness: Harness, status: str) -> list[str]:
    async with harness.store.reading() as connection:
        return [job.kind for job in await queue.jobs(connection, status)]


async def test_a_sent_reply_is_marked_delivered_on_the_desk_once(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        await harness.employee("priya").writes("note: checking first")  # internal: no receipt
        spot = harness.desk.thread_of("priya")
        await harness.employee("tomas").writes("a known bug", in_thread=spot)  # a colleague: none
        await harness.employee("priya").writes("Refunded, sorry!")
        assert ada.saw[-1] == "Priya Sharma: Refunded, sorry!"
        (reply,) = await replies(harness)
        assert harness.desk.reactions == [(reply.source_id, "delivered")]
        assert reply.delivered_at == harness.clock.now
        assert (await kinds(harness, "done")).count("desk.receipt") == 1
        # Shown again (another socket, another instance): no second receipt.
        assert await shown(harness.conversations, [reply.id or 0]) == 0
        await harness.settle()
        assert len(harness.desk.reactions) == 1


async def test_replies_shown_at_once_on_two_sockets_get_one_receipt(
    tmp_path: Path, database_url: str
) -> None:
    async with Harness(tmp_path, database_url=database_url) as harness:
        await harness.customer("ada").says(CHARGED)
        harness.channel.unreachable.add("ada")  # not sent: only "shown" below delivers it
        await harness.employee("priya").writes("Refunded, sorry!")
        (reply,) = await replies(harness)
        assert reply.delivered_at is None
        everything = list(range(1, (reply.id or 0) + 1))  # the customer's and the bot's too
        found = await asyncio.gather(*(shown(harness.conversations, everything) for _ in range(4)))
        assert sorted(found) == [0, 0, 0, 1]
        harness.channel.unreachable.clear()
        harness.clock.advance(minutes=1)
        await harness.settle()
        assert harness.desk.reactions == [(reply.source_id, "delivered")]


async def test_a_blocked_customer_gets_no_receipt_and_the_thread_a_note(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await harness.customer("ada").says(CHARGED)
        harness.channel.blocked.add("ada")
        await harness.employee("priya").writes("Are you there?")
        (note,) = [text for _, text in harness.desk.notes]
        assert note == (
            "This reply did not reach the customer on the test chat (the customer blocked us): "
            "Are you there?"
        )
        assert harness.desk.reactions == []
        assert (await replies(harness))[0].delivered_at is None


async def test_a_reply_still_unsent_after_every_retry_is_reported(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        harness.outbox.completions.max_attempts = 3
        await harness.customer("ada").says(CHARGED)
        harness.channel.unreachable.add("ada")
        await harness.employee("priya").writes("Are you there?")
        for _ in range(2):  # attempts 2 and 3, each after its backoff
            assert harness.desk.notes == []
            harness.clock.advance(minutes=15)
            await harness.settle()
        (note,) = [text for _, text in harness.desk.notes]
        assert note == (
            "This reply did not reach the customer on the test chat after 3 attempts "
            "(last: the chat service is down): Are you there?"
        )
        assert "customer.deliver" in await kinds(harness, "failed")
        assert harness.desk.reactions == []


async def test_the_desk_failing_retries_the_receipt(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await harness.customer("ada").says(CHARGED)
        harness.desk.failing.append(RetryLater("the desk is down"))
        await harness.employee("priya").writes("Refunded, sorry!")
        assert harness.desk.reactions == []
        harness.clock.advance(minutes=1)
        await harness.settle()
        (reply,) = await replies(harness)
        assert harness.desk.reactions == [(reply.source_id, "delivered")]


# Over real HTTP: the widget -----------------------------------------------------------


async def replied_while_away(
    frontdesk: Frontdesk, slack: FakeSlack
) -> tuple[str, dict[str, Any], dict[str, Any], int]:
    """A widget customer who wrote and left, and the employee's reply, not delivered:
    the customer's token, the card, the reply's event and the stored reply's id."""
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)
        posted = await card(slack)
        token = visitor.token
    reply = thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], "Refunded!")
    assert (await send_event(frontdesk.url, reply)).status_code == 200
    async with frontdesk.store.session() as session:
        stored = (await session.exec(select(Message).where(Message.author == "employee"))).one()
    assert stored.id is not None
    assert stored.delivered_at is None
    assert slack.reactions == []
    assert token is not None
    return token, posted, reply, stored.id


async def test_a_widget_reply_is_delivered_only_once_shown(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    # The customer has gone: the reply waits for them, and is not delivered yet.
    token, posted, reply, _ = await replied_while_away(frontdesk, slack)
    # Back, in two tabs at once: shown in both, delivered once.
    async with (
        Visitor(frontdesk.url, token=token) as one,
        Visitor(frontdesk.url, token=token) as two,
    ):
        for tab in (one, two):
            await tab.message(lambda m: m["text"] == "Refunded!")

        async def marked() -> list[dict[str, Any]]:
            return slack.reactions

        check = {"channel": posted["channel"], "timestamp": reply["ts"], "name": "white_check_mark"}
        assert await eventually(marked) == [check]
        await one.say("thanks!")  # another round trip: a second receipt would be queued by now
    async with frontdesk.store.session() as session:
        receipts = select(OutboxJob).where(OutboxJob.kind == "desk.receipt")
        assert len((await session.exec(receipts)).all()) == 1
    assert slack.calls.count("reactions.add") == 1


async def test_a_widget_back_from_a_lost_instance_gets_the_receipts_it_was_owed(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    """An instance that showed a reply and stopped before writing its receipt: the
    widget reconnects elsewhere saying what it has shown, and that reply is delivered."""
    token, posted, reply, reply_id = await replied_while_away(frontdesk, slack)
    async with Visitor(frontdesk.url, token=token, last_seen=reply_id):

        async def marked() -> list[dict[str, Any]]:
            return slack.reactions

        check = {"channel": posted["channel"], "timestamp": reply["ts"], "name": "white_check_mark"}
        assert await eventually(marked) == [check]
    # Another visitor's word about its own messages marks nothing of this customer's.
    async with Visitor(frontdesk.url, last_seen=reply_id + 1000) as stranger:
        await stranger.say("hello")
    assert slack.calls.count("reactions.add") == 1
