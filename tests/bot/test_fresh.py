"""Messages committed a moment ago, kept for the customer's sockets in this instance."""

from bot.fresh import FreshMessages
from bot.tables import Message


def message(message_id: int, author: str = "bot") -> Message:
    return Message(id=message_id, conversation_id=1, author=author, body=f"m{message_id}",
                   source="bot")  # fmt: skip


def test_a_socket_takes_its_customers_messages_and_reads_the_rest() -> None:
    fresh = FreshMessages(size=3)
    fresh.add(7, message(1))
    fresh.add(7, message(2, author="system"))  # customers do not see these
    fresh.add(8, message(3))  # someone else's
    found, missing = fresh.take(7, [1, 2, 3, 4])
    assert [m.id for m in found] == [1]
    assert missing == [4]  # neither the hidden one nor another customer's is read either


def test_only_the_newest_are_kept() -> None:
    fresh = FreshMessages(size=2)
    for i in (1, 2, 3):
        fresh.add(7, message(i))
    found, missing = fresh.take(7, [1, 2, 3])
    assert [m.id for m in found] == [2, 3]
    assert missing == [1]
