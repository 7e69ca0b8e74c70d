"""A customer's erasure on Slack: the app's posts in a thread (each marked with MARKER
in its metadata) replaced by ERASED_POST, and the files the app uploaded there deleted.
Employees' own replies are theirs, and stay."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import RetryLater
from bot.pacing import Pacer
from bot.roles import ERASED_POST, Spot
from bot.slack_files import Call, SlackFiles, error_of

MARKER = "frontdesk_post"  # the metadata event type of everything the app posts


class SlackErasure:
    def __init__(self, client: AsyncWebClient, pacer: Pacer, call: Call, files: SlackFiles):
        self.client = client
        self.pacer = pacer
        self.call = call
        self.files = files

    async def thread(self, spot: Spot) -> int:
        """Erase the app's share of a thread, found with conversations.replies page by
        page; how many posts were replaced or files deleted. A thread that is gone has
        nothing left to replace."""
        erased, cursor = 0, None
        while True:
            try:
                page = await self.call(
                    self.client.conversations_replies(
                        channel=spot.place, ts=spot.thread, include_all_metadata=True,
                        limit=200, cursor=cursor,
                    )
                )  # fmt: skip
            except RetryLater as exc:
                if error_of(exc) == "thread_not_found":
                    return erased
                raise
            for message in page.get("messages") or ():
                if await self.files.erase(spot, message) or await self._replace(spot, message):
                    erased += 1
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return erased

    async def _replace(self, spot: Spot, message: dict[str, Any]) -> bool:
        """chat.update an app's post with ERASED_POST; False if it is not ours or is
        already erased."""
        ours = (message.get("metadata") or {}).get("event_type") == MARKER
        if not ours or message.get("text") == ERASED_POST:
            return False
        await self.pacer.wait(spot.place)
        try:
            await self.call(
                self.client.chat_update(
                    channel=spot.place, ts=message["ts"], text=ERASED_POST,
                    blocks=[], attachments=[],
                )
            )  # fmt: skip
        except RetryLater as exc:
            if error_of(exc) != "message_not_found":  # deleted meanwhile
                raise
        return True
