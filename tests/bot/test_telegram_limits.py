"""Telegram chats under config.yml's limits, as widget visitors are: a chat that floods
the webhook is refused past its allowance (every update acknowledged to Telegram, the
refused ones kept as rejected), a message longer than `max_message_chars` is refused,
and the chat is told why once a minute for each limit, while other chats are served."""

import asyncio
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from bot.metrics import Metrics
from bot.tables import Inbound, Message, OutboxJob
from bot.telegram_limits import TOO_FAST, TOO_LONG, ChatLimits
from routing.limits import Limits
from tests.bot.test_telegram import WEBHOOK_SECRET, telegram_settings
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.rasa import FakeRasa, meaning
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram, text

FLOODER, OTHER = 880001, 880002


@pytest.fixture
async def app(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> AsyncIterator[Frontdesk]:
    port = free_port()
    settings = telegram_settings(
        tmp_path, fake_rasa.url, slack, tg, port, webhook=True, database_url=database_url
    )
    fake_rasa.otherwise = meaning("out_of_scope", 0.2)
    async with Frontdesk(settings, port) as frontdesk:
        yield frontdesk


async def post(client: httpx.AsyncClient, chat: int, words: str) -> int:
    response = await client.post(
        "/telegram/webhook",
        json=text(chat, words),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    return response.status_code


async def settled(app: Frontdesk) -> bool:
    async with app.store.session() as session:
        pending = select(OutboxJob).where(col(OutboxJob.status) == "pending")
        return (await session.exec(pending)).first() is None


def limited(metrics: str, limit: str) -> float:
    found = re.search(
        rf'^frontdesk_limited_total{{limit="{limit}",source="telegram"}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_a_flooding_chat_is_refused_and_told_while_another_is_served(
    app: Frontdesk, tg: FakeTelegram
) -> None:
    started = asyncio.get_running_loop().time()
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
        flood = [post(client, FLOODER, f"spam {n}") for n in range(60)]
        other = [post(client, OTHER, f"question {n}") for n in range(3)]
        statuses = await asyncio.gather(*flood, *other)
        too_long = [await post(client, OTHER, "x" * 4001) for _ in range(2)]
        metrics = (await client.get("/metrics")).text
    elapsed = asyncio.get_running_loop().time() - started
    assert set(statuses + too_long) == {200}  # Telegram is never asked to send them again
    await eventually(lambda: settled(app), timeout=30)

    async with app.store.session() as session:
        inbox = (await session.exec(select(Inbound).order_by(col(Inbound.id)))).all()
        bodies = (await session.exec(select(Message.body, Message.author))).all()
    refused = [i for i in inbox if i.sender == str(FLOODER) and i.rejected]
    taken = [i for i in inbox if i.sender == str(FLOODER) and not i.rejected]
    # The burst of 10, and what refills (20 a minute) while the flood lasts.
    assert 10 <= len(taken) <= 10 + math.ceil(elapsed / 3)
    assert len(refused) == 60 - len(taken)
    assert {i.rejected for i in refused} == {"over the chat's message limit (config.yml limits)"}
    spam = [body for body, author in bodies if author == "customer" and body.startswith("spam")]
    assert len(spam) == len(taken)  # nothing refused reached a conversation
    assert limited(metrics, "messages") == len(refused)

    assert [s.get("text") for s in tg.to(FLOODER)].count(TOO_FAST) == 1  # once a minute
    served = [i for i in inbox if i.sender == str(OTHER)]
    assert [i.rejected for i in served] == [None] * 3 + ["longer than 4000 characters "
                                                         "(config.yml limits)"] * 2  # fmt: skip
    assert limited(metrics, "size") == 2
    assert {b for b, a in bodies if a == "customer" and b.startswith("question")} == {
        f"question {n}" for n in range(3)
    }
    to_other = [s.get("text") for s in tg.to(OTHER)]
    assert TOO_FAST not in to_other
    assert to_other.count(TOO_LONG.format(limit="4,000")) == 1
    assert len(to_other) >= 4  # the bot answered its questions too


def test_a_chat_is_told_once_a_minute_for_each_limit() -> None:
    now, limits = [0.0], Limits(messages_per_minute=6, message_burst=2, max_message_chars=5)
    chats = ChatLimits(lambda: limits, Metrics(), clock=lambda: now[0])
    short, long = text(1, "hi"), text(1, "hello there")
    assert chats.judge("1", short) is None
    too_long = chats.judge("1", long)
    assert too_long is not None
    assert (too_long.limit, too_long.notice) == ("size", TOO_LONG.format(limit="5"))
    outcomes = [chats.judge("1", short) for _ in range(3)]  # the burst is spent
    assert [(o.limit, o.notice) for o in outcomes if o] == [("messages", TOO_FAST),
                                                            ("messages", None), ("messages", None)]  # fmt: skip
    assert chats.judge("2", short) is None  # another chat is not limited by this one's
    now[0] += 10  # a message refills, not the notice
    assert chats.judge("1", short) is None
    again = chats.judge("1", short)
    assert again is not None
    assert again.notice is None
    now[0] += 60  # a minute on: the burst again, and a notice
    assert [chats.judge("1", short) for _ in range(2)] == [None, None]
    told = chats.judge("1", short)
    assert told is not None
    assert told.notice == TOO_FAST
