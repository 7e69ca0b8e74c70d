"""Files on Slack: a customer's file uploaded into the conversation's thread, where the
employee sees it inline (the external upload: files.getUploadURLExternal, the bytes to
the URL it gives, files.completeUploadExternal), found rather than uploaded again when a
retry follows a lost answer, and deleted again when its customer is erased; and the
Slack error behind an outbox instruction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import GiveUp, RetryLater
from bot.pacing import Pacer
from bot.roles import Attempt, FileContent, Spot

Call = Callable[[Awaitable[Any]], Awaitable[Any]]  # a Web API call, failures as instructions

# What a workspace refuses whatever we do: the file is then linked, not uploaded.
_REFUSED = {
    "file_uploads_disabled", "file_uploads_except_images_disabled", "file_type_not_allowed",
    "file_upload_size_restricted", "missing_scope", "not_allowed_token_type",
}  # fmt: skip
_GONE = {"file_not_found", "file_deleted"}  # files.delete's answers once it is done


def error_of(exc: Exception) -> str | None:
    """The Slack error behind an outbox instruction, if Slack named one."""
    cause = exc.__cause__
    if isinstance(cause, SlackApiError) and isinstance(getattr(cause.response, "data", None), dict):
        return str(cause.response.get("error"))
    return None


class SlackFiles:
    def __init__(self, client: AsyncWebClient, pacer: Pacer, call: Call) -> None:
        self.client = client
        self.pacer = pacer
        self.call = call
        self._me: tuple[str, str] | None = None  # the app's bot user and bot ids

    async def upload(self, spot: Spot, text: str, file: FileContent, attempt: Attempt) -> None:
        """`file` in the thread, with `text` as its message; GiveUp if the workspace
        refuses files like it."""
        if attempt.number > 1 and await self._uploaded(spot, text, file.name):
            return
        await self.pacer.wait(spot.place)
        try:
            await self.call(
                self.client.files_upload_v2(
                    channel=spot.place, thread_ts=spot.thread, content=file.data,
                    filename=file.name, title=file.name, initial_comment=text,
                )
            )  # fmt: skip
        except SlackRequestError as exc:  # the bytes did not reach the upload URL
            raise RetryLater(f"Slack upload failed: {exc}") from exc
        except RetryLater as exc:
            if (error := error_of(exc)) in _REFUSED:
                raise GiveUp(f"Slack refused the file: {error}") from exc
            raise

    async def erase(self, spot: Spot, message: Mapping[str, Any]) -> bool:
        """Whether `message` (from conversations.replies) is a share of files the app
        uploaded; if so the files go (files.delete) and then the message with its
        comment (chat.delete). Uploads carry no metadata, so the share is known by its
        author, the app's bot user; employees' shares are theirs, and stay. What is
        gone already counts as done, so a retry resumes."""
        if not message.get("files") or not await self._ours(message):
            return False
        for file in message["files"]:  # tombstones too: deleted already is done
            await self.pacer.wait(spot.place)
            try:
                await self.call(self.client.files_delete(file=file["id"]))
            except RetryLater as exc:
                if error_of(exc) not in _GONE:
                    raise
        await self.pacer.wait(spot.place)
        try:
            await self.call(self.client.chat_delete(channel=spot.place, ts=message["ts"]))
        except RetryLater as exc:
            if error_of(exc) != "message_not_found":  # deleted with its last file
                raise
        return True

    async def _ours(self, message: Mapping[str, Any]) -> bool:
        if self._me is None:  # auth.test once: the ids never change
            found = await self.call(self.client.auth_test())
            self._me = (str(found["user_id"]), str(found.get("bot_id") or ""))
        user, bot = self._me
        return message.get("user") == user or (bot != "" and message.get("bot_id") == bot)

    async def fetch(self, reference: str) -> FileContent:
        """A file shared on Slack, by its id: files.info, then its private download URL
        with the bot token (never handed to anyone). A file deleted since is GiveUp."""
        try:
            info = await self.call(self.client.files_info(file=reference))
        except RetryLater as exc:
            if error_of(exc) == "file_not_found":
                raise GiveUp("the file was deleted from Slack") from exc
            raise
        file = info["file"]
        url = file.get("url_private_download") or file.get("url_private")
        if not url or self.client.session is None:
            raise GiveUp("Slack gives no download address for the file")
        headers = {"Authorization": f"Bearer {self.client.token}"}
        try:
            async with self.client.session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise RetryLater(f"Slack's file download answered {response.status}")
                data = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from exc
        kind = str(file.get("mimetype") or "application/octet-stream")
        return FileContent(str(file.get("name") or reference), kind, data)

    async def _uploaded(self, spot: Spot, text: str, name: str) -> bool:
        """Whether an earlier attempt's upload is in the thread (its answer was lost)."""
        page = await self.call(
            self.client.conversations_replies(channel=spot.place, ts=spot.thread, limit=200)
        )
        return any(
            message.get("text") == text
            and any(f.get("name") == name for f in message.get("files") or ())
            for message in page.get("messages") or ()
        )
