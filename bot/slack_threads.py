"""Which conversation a Slack thread belongs to, allowing for the moment between Slack
having a card and the app having stored the card's thread, and remembered once found:
every reply in a thread asks, and a thread never changes hands (desk threads are unique
by place and thread, and kept: erasure blanks words, not threads)."""

from __future__ import annotations

import asyncio
import time

from bot.latest import Latest
from bot.store import Store
from bot.store.conversations import conversation_for_thread

_NEW_THREAD = 60.0  # s: a reply this soon after its card may beat the card's commit
_WAIT, _POLL = 2.0, 0.1  # s: within the 3 s Slack gives an app to answer an event
KNOWN = 10_000  # threads remembered, the latest found


class Threads:
    def __init__(self, store: Store, size: int = KNOWN) -> None:
        self.store = store
        self._known: Latest[tuple[str, str], int] = Latest(size)

    async def conversation_of(self, channel: str, thread: str) -> int | None:
        if (known := self._known.get((channel, thread))) is not None:
            return known
        found = await conversation_of(self.store, channel, thread)
        if found is not None:
            self._known.put((channel, thread), found)
        return found


async def conversation_of(store: Store, channel: str, thread: str) -> int | None:
    """The conversation whose card started `thread`, if any. A card's thread is stored
    when its post's job commits, a moment after Slack has it: a reply in a thread begun
    seconds ago waits briefly for that commit rather than being taken for a thread of
    the employees' own."""
    deadline = time.monotonic() + _WAIT
    while True:
        async with store.reading() as connection:
            found = await conversation_for_thread(connection, channel, thread)
        if found is not None or not _begun_lately(thread) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(_POLL)


def _begun_lately(thread: str) -> bool:
    """Slack's message ids are the epoch seconds they were posted at."""
    try:
        return time.time() - float(thread) < _NEW_THREAD
    except ValueError:
        return False
