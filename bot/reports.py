"""The listening report over a period: what customers write about and how that changes,
how fast people answer, whether customers reach their person again, where routing
sends conversations that are then transferred, what the bot did not understand, and
how customers feel per topic. Read from the store, figured in bot/figures.py; every
part is a table (`PARTS`). An erased message (a customer's erasure, or retention)
still counts where conversations are counted, but its words are not read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean
from typing import Any

from bot.clusters import cluster
from bot.figures import (
    Period,
    Table,
    continuity,
    first_responses,
    topic,
    transfers,
    volume,
)
from bot.sentiment import score
from bot.store import Store, history
from bot.store.privacy import ERASED
from routing import RoutingConfig

PARTS = (
    "volume", "topics", "first_response_teams", "first_response_people",
    "first_response_trend", "continuity", "transfers", "not_understood", "sentiment",
    "sentiment_topics", "most_negative",
)  # fmt: skip
NOT_UNDERSTOOD = "out_of_scope"  # the intent of messages the NLU knows are off-topic
EXAMPLES = 3
NEGATIVE_LISTED = 10
SNIPPET = 160  # characters of a customer's message shown


def snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


async def report(store: Store, config: RoutingConfig, period: Period) -> dict[str, Table]:
    """Every part of the report, by name."""
    earlier = period.previous
    async with store.reading() as connection:
        started = await history.created(connection, earlier.start, period.end)
        given = await history.assignments_of_customers(connection, earlier.start, period.end)
        said = await history.said(connection, earlier.start, period.end)
    said = [m for m in said if m.body != ERASED]  # no "erased" topic, no 0.0 feelings
    buckets, topics = volume(started, period)
    teams, people, trend = first_responses(given, period, config)
    intents = {c.id: c.intent for c in started}
    return {
        "volume": buckets,
        "topics": topics,
        "first_response_teams": teams,
        "first_response_people": _named(people, config),
        "first_response_trend": trend,
        "continuity": continuity(given, period, config),
        "transfers": transfers(given, period, config),
        "not_understood": not_understood(started, given, said, period, config),
        **feelings(said, intents, period),
    }


def _named(rows: Table, config: RoutingConfig) -> Table:
    """Rows keyed by employee id, with the person's name beside it."""

    def name(employee: str) -> str | None:
        return config.employee(employee).name if config.has_employee(employee) else None

    return [{"employee": r["employee"], "name": name(r["employee"]), **r} for r in rows]


def not_understood(
    started: Sequence[Any],
    given: Iterable[Mapping[str, Any]],
    said: Iterable[history.Said],
    period: Period,
    config: RoutingConfig,
) -> Table:
    """The first messages of conversations the bot did not understand (no topic, off
    topic, below the confidence triage trusts, or routed by the fallback), grouped by
    the words they share, over this period and the one before: groups larger now than
    before come first, those new this period marked."""
    routed_by: dict[int, str | None] = {}
    for assignment in given:
        routed_by.setdefault(assignment["conversation_id"], assignment["rule"])
    threshold = config.triage.min_confidence
    unclear = {
        c.id: c.created_at
        for c in started
        if c.intent in (None, NOT_UNDERSTOOD)
        or (c.confidence is not None and c.confidence < threshold)
        or (c.id in routed_by and routed_by[c.id] is None)
    }
    first: dict[int, str] = {}
    for message in said:
        if message.conversation_id in unclear:
            first.setdefault(message.conversation_id, message.body)
    ids = list(first)
    rows: Table = []
    for group in cluster([first[i] for i in ids]):
        members = [ids[m] for m in group.members]
        now = [i for i in members if period.holds(unclear[i])]
        if not now:
            continue
        before = len(members) - len(now)
        rows.append(
            {"words": " ".join(group.top()), "conversations": len(now), "previous": before,
             "new": before == 0,
             "examples": [{"conversation_id": i, "snippet": snippet(first[i])}
                          for i in now[:EXAMPLES]]}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (-(r["conversations"] - r["previous"]), r["words"]))


def feelings(
    said: Iterable[history.Said], intents: Mapping[int, str | None], period: Period
) -> dict[str, Table]:
    """Sentiment of customers' messages (bot/sentiment.py): per topic and day or week,
    per topic against the period before, and the conversations that read the most
    negative (their mean score, with their worst message)."""
    per_bucket: dict[tuple[str, str], list[float]] = defaultdict(list)
    per_topic: dict[tuple[bool, str], list[float]] = defaultdict(list)
    per_conversation: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for message in said:
        value, name = score(message.body), topic(intents.get(message.conversation_id))
        now = period.holds(message.at)
        per_topic[(now, name)].append(value)
        if now:
            per_bucket[(period.bucket(message.at), name)].append(value)
            per_conversation[message.conversation_id].append((value, message.body))
    trend = [
        {"period_start": b, "topic": t, "messages": len(v), "average": _mean(v)}
        for (b, t), v in sorted(per_bucket.items())
    ]
    topics = []
    for name in sorted({t for now, t in per_topic if now}):
        average, before = _mean(per_topic[(True, name)]), _mean(per_topic[(False, name)])
        moved = round(average - before, 3) if average is not None and before is not None else None
        topics.append(
            {"topic": name, "messages": len(per_topic[(True, name)]), "average": average,
             "previous_average": before, "change": moved}
        )  # fmt: skip
    return {"sentiment": trend, "sentiment_topics": topics,
            "most_negative": _most_negative(per_conversation, intents)}  # fmt: skip


def _most_negative(
    scored: Mapping[int, list[tuple[float, str]]], intents: Mapping[int, str | None]
) -> Table:
    ranked = sorted(scored.items(), key=lambda item: (fmean(v for v, _ in item[1]), item[0]))
    rows: Table = []
    for conversation_id, values in ranked[:NEGATIVE_LISTED]:
        average = fmean(v for v, _ in values)
        if average >= 0:
            break
        worst = min(values, key=lambda pair: pair[0])
        rows.append(
            {"conversation_id": conversation_id, "topic": topic(intents.get(conversation_id)),
             "average": round(average, 3), "messages": len(values),
             "worst": snippet(worst[1])}
        )  # fmt: skip
    return rows


def _mean(values: Sequence[float]) -> float | None:
    return round(fmean(values), 3) if values else None
