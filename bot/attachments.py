"""Files customers send: the channel keeps them, the message keeps a reference (its
details' `attachment.file`), and the desk is given the file itself when it can take it,
else a link (see DeskWork.post_message)."""

from __future__ import annotations

import logging

from bot.outbox import GiveUp
from bot.roles import Channels, FileContent
from bot.tables import Message

log = logging.getLogger(__name__)


async def attached(channels: Channels, message: Message) -> FileContent | None:
    """The file a customer's message carried, fetched from their channel; None when it
    carried none, or the channel cannot give it (too big, gone): the link stands in."""
    attachment = message.details.get("attachment") or {}
    reference, source = attachment.get("file"), channels.files(message.source)
    if not reference or source is None:
        return None
    try:
        return await source.fetch_file(str(reference))
    except GiveUp as exc:
        log.info("a customer's file is linked, not shown", extra={"reason": str(exc)})
        return None
