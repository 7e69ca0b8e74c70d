"""2. New customers per second with the real NLU, beside the peer (Rasa's own REST
channel, benchmarks/peer.py) on the same texts, one at a time and 32 at once. The two
take turns, never run together (they share the machine's two cores): each load is run
in ROUNDS rounds, the peer first in odd ones and Frontdesk first in even ones, so that a
machine whose speed drifts within minutes (plain Python 54 -> 116 ms within one run,
seen here) favours neither; the ratio is taken per round, and the median reported."""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import dataclass

from benchmarks import heap
from benchmarks.databases import sqlite
from benchmarks.parsing import TEXTS
from benchmarks.peer import Figures, RasaRest, first_replies
from benchmarks.profile import Profile, profile
from benchmarks.report import heading, spread, text
from benchmarks.stage import LOGS, Stage, stage
from benchmarks.usage import Busy, cpu_seconds, rss_mib
from benchmarks.visitors import Crowd, crowd

RUNS = ((1, 150), (32, 480))  # (at once, new customers)
ROUNDS = 3
WARM_UP = 20
BUDGET = 45.0  # seconds: a slow app serves fewer customers rather than stretch the bench
NLU_DOWN = "straight to a person"  # what the bot says when the NLU failed


@dataclass(frozen=True)
class Ours:
    crowd: Crowd
    busy: Busy


@dataclass(frozen=True)
class Theirs:
    figures: Figures
    cpu_ms: float  # the peer's CPU per new customer


async def run(rasa_url: str, rasa_pid: int | None, peer: RasaRest | None) -> None:
    heading(
        "2. New customers with the real NLU (SQLite): each a new widget visitor writing one "
        "message until the bot's first reply; beside Rasa's REST channel on the same texts, "
        f"the two taking turns in {ROUNDS} rounds"
    )
    nlu = {"Rasa": rasa_pid} if rasa_pid is not None else {}
    async with sqlite() as url, stage("new-customers", url, rasa_url=rasa_url) as on:
        await crowd(on.app.url, TEXTS, at_once=1, count=WARM_UP, budget=BUDGET / 4)
        await on.slack.quiet()
        if peer is not None:
            await first_replies(peer.url, TEXTS, at_once=1, count=WARM_UP)
        for at_once, count in RUNS:
            how = "one at a time" if at_once == 1 else f"{at_once} at once"
            text(f"{how} ({count} new customers a round):")
            rounds: list[tuple[Ours, Theirs | None]] = []
            for number in range(1, ROUNDS + 1):
                theirs = None
                if peer is not None and number % 2:
                    theirs = await _theirs(peer, at_once, count)
                # The first crowded round is profiled, with BENCH_PROFILE.
                ours = await _ours(on, at_once, count, nlu, profiled=at_once > 1 and number == 1)
                if peer is not None and not number % 2:
                    theirs = await _theirs(peer, at_once, count)
                _print_round(number, ours, theirs)
                rounds.append((ours, theirs))
            _print_summary(rounds)
        text(f"app log: {on.app.problems()}")
    if peer is not None:
        text(f"peer Rasa server RSS {rss_mib(peer.pid):.0f} MiB")


async def _ours(
    on: Stage, at_once: int, count: int, nlu: dict[str, int], *, profiled: bool
) -> Ours:
    meter = on.meter(**nlu)
    meter.start()
    async with _profiled(on.app.pid, at_once, profiled) as recorded:
        result = await crowd(on.app.url, TEXTS, at_once=at_once, count=count, budget=BUDGET)
        await on.slack.quiet()  # the cards of this round's handoffs
    busy = meter.stop()
    recorded.print()
    return Ours(result, busy)


async def _theirs(peer: RasaRest, at_once: int, count: int) -> Theirs:
    heap.settle()  # as Meter.start does for Frontdesk's rounds
    before = cpu_seconds(peer.pid)
    figures = await first_replies(peer.url, TEXTS, at_once=at_once, count=count)
    return Theirs(figures, (cpu_seconds(peer.pid) - before) / count * 1000)


def _profiled(
    pid: int, at_once: int, profiled: bool
) -> contextlib.AbstractAsyncContextManager[Profile]:
    """With BENCH_PROFILE, the round asked for is profiled (the target left is there)."""
    if not profiled:
        return contextlib.nullcontext(Profile())
    return profile(pid, LOGS / f"new-customers-{at_once}.raw")


def _print_round(number: int, ours: Ours, theirs: Theirs | None) -> None:
    count, mine = ours.crowd.served, ours.crowd.from_message
    head = f"  round {number}: Frontdesk {mine.per_second:.1f}/s p95 {mine.p95_ms:.0f} ms"
    if theirs is not None:
        head += (
            f" | Rasa REST {theirs.figures.per_second:.1f}/s p95 {theirs.figures.p95_ms:.0f} ms"
            f" | ratio {_throughput(ours, theirs):.2f}x throughput,"
            f" {_p95(ours, theirs):.2f}x p95"
        )
    text(head)
    cpu = f"app {ours.busy.cpu['app'] / count * 1000:.1f} ms"
    if "Rasa" in ours.busy.cpu:
        cpu += f" + Rasa {ours.busy.cpu['Rasa'] / count * 1000:.1f} ms"
    if theirs is not None:
        cpu += f" | Rasa REST {theirs.cpu_ms:.1f} ms"
    text(f"      CPU per new customer: {cpu} | cores busy: {ours.busy.cores()}")
    if ours.crowd.dropped:
        text(f"      !! the app closed {ours.crowd.dropped} of {count} sockets before the reply")
    if failed := ours.crowd.replies_containing(NLU_DOWN):
        text(f"      !! {failed} of {count} customers were told the NLU was down")


def _print_summary(rounds: list[tuple[Ours, Theirs | None]]) -> None:
    seconds = [s for ours, _ in rounds for s in ours.crowd.from_message.seconds]
    opened = [s for ours, _ in rounds for s in ours.crowd.from_open.seconds]
    text(
        f"  Frontdesk, all rounds: message → reply {spread(seconds)}; "
        f"opening the chat → reply {spread(opened)}"
    )
    pairs = [(ours, theirs) for ours, theirs in rounds if theirs is not None]
    if pairs:
        throughput = statistics.median(_throughput(o, t) for o, t in pairs)
        p95 = statistics.median(_p95(o, t) for o, t in pairs)
        text(
            f"  median of the {len(pairs)} rounds: {throughput:.2f}x Rasa REST's throughput, "
            f"{p95:.2f}x its p95"
        )


def _throughput(ours: Ours, theirs: Theirs) -> float:
    return ours.crowd.from_message.per_second / theirs.figures.per_second


def _p95(ours: Ours, theirs: Theirs) -> float:
    return ours.crowd.from_message.p95_ms / theirs.figures.p95_ms
