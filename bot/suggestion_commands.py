"""`frontdesk nlu suggestions`: the training examples employees' transfers suggested,
listed with counts, and accepted into the NLU's data (nlu/learned.py) or rejected."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.store import Store
from bot.suggestions import Group, Suggestions
from nlu.learned import learn, learned_file
from nlu.training import PROJECT, RasaProject

_BY = "the command line"


def register(subcommands: argparse._SubParsersAction[Any]) -> None:
    """`suggestions` under `frontdesk nlu`."""
    parser = subcommands.add_parser(
        "suggestions",
        help="training examples from employees' transfers: list, accept, reject",
        description="When an employee transfers a conversation, the customer's first "
        "message is suggested as an example of the intent that fitted. List them (the "
        "same words for the same intent counted together); --accept adds them to the "
        "NLU's training data (data/learned.yml), and the next `frontdesk nlu train` or "
        "`make run` retrains. Nothing is added unless accepted.",
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--accept", type=int, nargs="+", metavar="ID", help="add these to the training data"
    )
    choice.add_argument("--reject", type=int, nargs="+", metavar="ID", help="never add these")
    parser.add_argument("--all", action="store_true", help="list accepted and rejected ones too")
    parser.add_argument(
        "--project",
        type=Path,
        default=PROJECT,
        help="the Rasa project accepted examples go to (default: the shipped one)",
    )
    parser.set_defaults(run=_suggestions)


def _suggestions(args: argparse.Namespace) -> int:
    return asyncio.run(_suggestions_async(args))


async def _suggestions_async(args: argparse.Namespace) -> int:
    store = Store(Settings.from_env().database_url)
    try:
        await store.upgrade()
        suggestions = Suggestions(store)
        if args.accept or args.reject:
            return await _decide(suggestions, args)
        _list(await suggestions.groups(), every=args.all)
        return 0
    finally:
        await store.close()


async def _decide(suggestions: Suggestions, args: argparse.Namespace) -> int:
    ids = args.accept or args.reject
    groups, unknown = await suggestions.waiting(ids)
    if unknown:
        named = ", ".join(f"#{i}" for i in unknown)
        print(
            f"No suggestion waiting as {named}: nothing was changed. "
            "`frontdesk nlu suggestions --all` lists them all.",
            file=sys.stderr,
        )
        return 1
    if args.reject:
        await suggestions.decide(groups, "rejected", _BY)
        print(f"Rejected {_count(len(groups), 'suggestion')}; none will be suggested again.")
        return 0
    project = RasaProject(args.project)
    added = learn(project, [(g.text, g.intent) for g in groups])
    await suggestions.decide(groups, "accepted", _BY)
    already = len(groups) - len(added)
    print(
        f"Accepted {_count(len(groups), 'suggestion')}: {_count(len(added), 'example')} "
        f"added to {learned_file(project)}"
        + (f" ({already} in the training data already)" if already else "")
        + ". `frontdesk nlu train` (or the next `make run`) retrains the model with them."
    )
    return 0


def _list(groups: list[Group], *, every: bool) -> None:
    waiting = [g for g in groups if g.status == "suggested"]
    shown = groups if every else waiting
    decided = Counter(g.status for g in groups if g.status != "suggested")
    print(
        f"Training examples suggested by transfers: {len(waiting)} waiting"
        + "".join(f", {n} {status}" for status, n in sorted(decided.items()))
        + "."
    )
    for group in shown:
        state = "" if group.status == "suggested" else f"  [{group.status}]"
        times = _count(group.count, "time")
        print(
            f"#{group.id:<5} {group.intent}, {times} (the NLU said {_was(group)}; transferred "
            f"by {', '.join(group.employees)}, last {group.last:%d %b %Y %H:%M} UTC){state}\n"
            f"       {group.text!r}"
        )
    if waiting:
        print(
            "Accept with `frontdesk nlu suggestions --accept ID ...`, reject with "
            "`--reject ID ...`."
        )


def _was(group: Group) -> str:
    """What the NLU made of the message, each time it was suggested."""
    said = Counter(intent or "nothing" for intent, _ in group.was)
    confidences = [c for _, c in group.was if c is not None]
    text = " or ".join(intent for intent, _ in said.most_common())
    mean = sum(confidences) / len(confidences) if confidences else None
    return text + (f" at {mean:.0%}" if mean is not None else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
