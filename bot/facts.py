"""Facts employees pin about a customer from a conversation's thread: `remember: prefers
email for invoices` keeps one for every later card of that customer; `forget: 2` (its
number on the card) or `forget: invoices` (words only it has) removes one. Both are
answered in the thread and never reach the customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.store import Connection
from bot.store import facts as stored
from bot.store.rows import key
from bot.tables import Fact

PREFIXES = {"remember": "remember:", "forget": "forget:"}


@dataclass(frozen=True)
class Asked:
    """What a `remember:` or `forget:` message asks for."""

    verb: Literal["remember", "forget"]
    what: str


def asked(text: str) -> Asked | None:
    """The `remember:` or `forget:` a message starts with, and what follows it."""
    start = text.lstrip()
    if start.lower().startswith(PREFIXES["remember"]):
        return Asked("remember", start[len(PREFIXES["remember"]) :].strip())
    if start.lower().startswith(PREFIXES["forget"]):
        return Asked("forget", start[len(PREFIXES["forget"]) :].strip())
    return None


def pick(known: Sequence[Fact], what: str) -> Fact | str:
    """The fact `what` names (its number on the card, its words, or words only it has),
    or why there is none to forget."""
    if what.isdigit():
        if 1 <= int(what) <= len(known):
            return known[int(what) - 1]
        return f"There is no remembered fact {what}: {_count(known)}."
    if not what:
        return "Say which fact to forget: its number on the card (`forget: 1`), or its words."
    wanted = what.casefold()
    exact = [f for f in known if f.text.casefold() == wanted]
    having = exact or [f for f in known if wanted in f.text.casefold()]
    if len(having) == 1:
        return having[0]
    if not having:
        return f'No remembered fact says "{what}": {_count(known)}.'
    numbers = [str(known.index(f) + 1) for f in having]
    return (
        f'Facts {", ".join(numbers)} all say "{what}": forget one by its number '
        f"(`forget: {numbers[0]}`)."
    )


async def act(
    connection: Connection, customer_id: int, request: Asked, by: str | None, now: datetime
) -> str:
    """Remember or forget a fact about the customer; what to say in the thread. `by` is
    the employee who asked (None: someone not in the config)."""
    if request.verb == "remember":
        if not request.what:
            return "Nothing to remember: write the fact after `remember:`."
        fact = Fact(customer_id=customer_id, text=request.what, employee_id=by, created_at=now)
        await stored.remember(connection, fact)
        number = len(await stored.remembered(connection, customer_id))
        return (
            f"Remembered as fact {number}: {request.what}. It will be on this customer's "
            f"next cards (not shown to them); `forget: {number}` removes it."
        )
    known = await stored.remembered(connection, customer_id)
    found = pick(known, request.what)
    if isinstance(found, str):
        return found
    await stored.forget(connection, key(found))
    return f"Forgot fact {known.index(found) + 1}: {found.text}"


def _count(known: Sequence[Fact]) -> str:
    if not known:
        return "nothing is remembered about this customer"
    return f"there {'is 1 fact' if len(known) == 1 else f'are {len(known)} facts'}"
