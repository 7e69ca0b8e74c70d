"""Files both ways. A customer's: the channel keeps it, the message a reference (its
details' `attachment.file`), and the desk is given the file itself when it can take
it, else a link (see DeskWork.post_message). An employee's: the desk keeps it, the
message lists it (details' `files`) if config.yml `files:` allows it (else a note says
why not), and the customer's channel gets it when the message goes out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.outbox import GiveUp
from bot.roles import Channels, FileContent, FileSource, SharedFile
from bot.tables import Message
from routing.files import Files

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


def admit(files: Sequence[SharedFile], allowed: Files) -> tuple[list[dict[str, Any]], list[str]]:
    """The files a customer may be sent, as a message's details keep them, and why
    each of the others may not."""
    admitted, refused = [], []
    for file in files:
        if (why := allowed.refusal(file.media_type, file.size)) is not None:
            refused.append(f"{file.name} ({why})")
        else:
            admitted.append({"ref": file.reference, "name": file.name,
                             "type": file.media_type, "size": file.size})  # fmt: skip
    return admitted, refused


async def fetch_all(source: FileSource | None, message: Message) -> tuple[FileContent, ...]:
    """An employee's files in a message, fetched from where they are kept."""
    listed = message.details.get("files") or []
    if not listed:
        return ()
    if source is None:
        raise GiveUp("the files are kept on the desk, which is not connected")
    return tuple([await source.fetch_file(str(file["ref"])) for file in listed])
