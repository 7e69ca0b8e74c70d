"""What one Telegram chat may send us (config.yml `limits:`, as for a widget visitor):
its message rate and the length of its text. An update over a limit is kept as
rejected; the chat is told why once a minute for each limit, by a bot message the
outbox sends like any other (paced per chat, retried)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.conversations import Conversations
from bot.metrics import Metrics
from bot.outbox import Tx
from bot.pacing import Limit, Pacer
from bot.store import conversations as stored
from bot.store import customers as people
from bot.triage import Reply
from routing.limits import Limits

SOURCE = "telegram"
TOO_FAST = (
    "You are sending messages faster than we can take them in, so your last messages did "
    "not reach us. Please wait a minute, then send them again."
)
TOO_LONG = (
    "That message is longer than the {limit} characters we can take, so it did not reach "
    "us. Please send it in shorter parts."
)
_TOLD_PER_MINUTE = 1  # notices to one chat about one limit


@dataclass(frozen=True)
class Over:
    """An update over a limit: which, why (for admins), and what the chat is told (None:
    it was told this minute already)."""

    limit: str
    reason: str
    notice: str | None


class ChatLimits:
    def __init__(
        self,
        limits: Callable[[], Limits],
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.metrics = metrics
        self.rate = Limit(
            limits, lambda now: Pacer(now.messages_per_minute / 60, now.message_burst, clock=clock)
        )
        self.told = Pacer(_TOLD_PER_MINUTE / 60, _TOLD_PER_MINUTE, clock=clock)

    def judge(self, chat: str, payload: dict[str, Any]) -> Over | None:
        """None if the chat may send this update now; else the limit it is over. Every
        update counts against the rate, a refused one too (as a flood's do)."""
        if self.rate.admit(chat) > 0:
            return self._over(chat, "messages", "over the chat's message limit", TOO_FAST)
        most = self.limits().max_message_chars
        if len(text_of(payload)) > most:
            return self._over(
                chat, "size", f"longer than {most} characters", TOO_LONG.format(limit=f"{most:,}")
            )
        return None

    def _over(self, chat: str, limit: str, why: str, notice: str) -> Over:
        self.metrics.limited.labels(SOURCE, limit).inc()
        told = self.told.admit(f"{chat}:{limit}") == 0
        return Over(limit, f"{why} (config.yml limits)", notice if told else None)


def text_of(payload: dict[str, Any]) -> str:
    """An update's text or caption, read from the raw JSON (a sent or edited message)."""
    for key in ("message", "edited_message"):
        if isinstance(message := payload.get(key), dict):
            for field in ("text", "caption"):
                if isinstance(words := message.get(field), str):
                    return words
    return ""


async def tell(
    tx: Tx,
    conversations: Conversations,
    chat: str,
    notice: str,
    *,
    name: str | None,
    language: str | None,
) -> None:
    """The bot says `notice` in the chat's conversation (started if it has none), within
    the transaction that keeps the refused update: delivered by the outbox."""
    customer_id = await people.customer_for(
        tx.connection, SOURCE, chat, name=name, language=language
    )
    conversation = await stored.open_or_start(
        tx.connection, customer_id, SOURCE, conversations.clock()
    )
    await conversations.say(tx, conversation, Reply(notice))
