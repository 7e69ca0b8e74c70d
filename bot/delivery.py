"""Messages to customers on channels that send them (see roles.Sender): who wrote it
as the customer sees them, resumed after the last part an earlier attempt got out; an
employee's reply that arrived is marked delivered on the desk (receipts.py), one that
can never arrive, or did not after every retry, is reported in the employee's thread."""

from __future__ import annotations

from dataclasses import replace

from bot.attachments import fetch_all
from bot.conversations import Conversations
from bot.jobs import Deliver, PostNote
from bot.outbox import GiveUp, Record, RetryLater, Tx, Work
from bot.receipts import delivered
from bot.roles import FileSource, Outgoing
from bot.store import customers as people
from bot.store.messages import message_in_conversation
from bot.store.rows import key
from bot.tables import Conversation, Message


class Delivery:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store = conversations.store
        self.desk_files: FileSource | None = None  # where employees' files are kept

    async def deliver(self, work: Work[Deliver]) -> Record | None:
        async with self.store.reading() as connection:
            message, conversation = await message_in_conversation(connection, work.job.message_id)
            channel = conversation.channel
            address = await people.address_of(connection, conversation.customer_id, channel)
        sender = self.conversations.channels.sender(channel)
        title = self.conversations.channels.title(channel)
        if sender is None or address is None:
            await self._report(conversation, message, f"{title} (no address there)")
            raise GiveUp(f"the customer cannot be sent messages on {title}")

        async def progress(sent: int) -> None:
            await self.conversations.outbox.save_checkpoint(work, sent)

        try:
            files = await fetch_all(self.desk_files, message)  # an employee's, kept on the desk
            outgoing = replace(self.outgoing(message), files=files)
            await sender.deliver(address, outgoing, work.checkpoint, progress)
        except GiveUp as exc:  # Undeliverable among them: blocked, the chat deleted
            await self._report(conversation, message, f"{title} ({exc})")
            raise
        except RetryLater as exc:
            if work.attempt >= self.conversations.outbox.completions.max_attempts:
                tried = f"{title} after {work.attempt} attempts (last: {exc})"
                await self._report(conversation, message, tried)
            raise
        if message.author != "employee":
            return None

        async def receipt(tx: Tx) -> None:  # with the job's completion: queued once
            await delivered(tx, [key(message)])

        return receipt

    def outgoing(self, message: Message) -> Outgoing:
        person = self.conversations.person
        return Outgoing(
            text=message.body,
            author=person(message.employee_id) if message.author == "employee" else None,
            introduces=self.conversations.introduced(message),
            quick_replies=tuple(message.details.get("quick_replies") or ()),
            rating=key(message) if message.details.get("rating") == "asked" else None,
        )

    async def _report(self, conversation: Conversation, message: Message, where: str) -> None:
        """Tell the employee their reply did not reach the customer."""
        if message.author != "employee":
            return
        note = f"This reply did not reach the customer on {where}: {message.body[:200]}"
        async with self.conversations.transaction() as tx:
            await tx.enqueue(PostNote(note), conversation_id=conversation.id)
