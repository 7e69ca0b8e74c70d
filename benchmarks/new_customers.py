"""2. New customers per second with the real NLU, beside the peer (Rasa's own REST
channel, benchmarks/peer.py) on the same texts, one at a time and 32 at once. The two
run one after the other, never together: they share the machine's two cores."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import heap
from benchmarks.databases import sqlite
from benchmarks.parsing import TEXTS
from benchmarks.peer import Figures, first_replies, start_rasa_rest
from benchmarks.profile import Profile, profile
from benchmarks.report import heading, spread, text
from benchmarks.stage import LOGS, stage
from benchmarks.usage import Busy, cpu_seconds, rss_mib
from benchmarks.visitors import Crowd, crowd

RUNS = ((1, 150), (32, 480))  # (at once, new customers)
WARM_UP = 20
BUDGET = 45.0  # seconds: a slow app serves fewer customers rather than stretch the bench
NLU_DOWN = "straight to a person"  # what the bot says when the NLU failed


@dataclass(frozen=True)
class PeerRun:
    figures: Figures
    cpu_ms: float  # the peer's CPU per new customer


@dataclass(frozen=True)
class PeerResult:
    runs: dict[int, PeerRun]
    rss_mib: float


async def measure_peer(home: Path) -> PeerResult:
    """The peer on its own, before Frontdesk's NLU server starts."""
    async with start_rasa_rest(home, lambda m: print(m, file=sys.stderr)) as peer:
        await first_replies(peer.url, TEXTS, at_once=1, count=WARM_UP)
        runs = {}
        for at_once, count in RUNS:
            heap.settle()  # as Meter.start does for Frontdesk's runs
            before = cpu_seconds(peer.pid)
            figures = await first_replies(peer.url, TEXTS, at_once=at_once, count=count)
            runs[at_once] = PeerRun(figures, (cpu_seconds(peer.pid) - before) / count * 1000)
        return PeerResult(runs, rss_mib(peer.pid))


async def run(rasa_url: str, rasa_pid: int | None, peer: PeerResult | None) -> None:
    heading(
        "2. New customers with the real NLU (SQLite): each a new widget visitor writing one "
        "message until the bot's first reply; beside Rasa's REST channel on the same texts"
    )
    nlu = {"Rasa": rasa_pid} if rasa_pid is not None else {}
    async with sqlite() as url, stage("new-customers", url, rasa_url=rasa_url) as on:
        await crowd(on.app.url, TEXTS, at_once=1, count=WARM_UP, budget=BUDGET / 4)
        await on.slack.quiet()
        for at_once, count in RUNS:
            meter = on.meter(**nlu)
            meter.start()
            async with _profiled(on.app.pid, at_once) as profiled:
                result = await crowd(on.app.url, TEXTS, at_once=at_once, count=count, budget=BUDGET)
                await on.slack.quiet()  # the cards of this run's handoffs
            busy = meter.stop()
            _print(at_once, result, busy, peer.runs[at_once] if peer else None)
            profiled.print()
        text(f"app log: {on.app.problems()}")
    if peer is not None:
        text(f"peer Rasa server RSS {peer.rss_mib:.0f} MiB")


def _profiled(pid: int, at_once: int) -> contextlib.AbstractAsyncContextManager[Profile]:
    """With BENCH_PROFILE, the crowded run is profiled (the target left is there)."""
    if at_once == 1:
        return contextlib.nullcontext(Profile())
    return profile(pid, LOGS / f"new-customers-{at_once}.raw")


def _print(at_once: int, ours: Crowd, busy: Busy, peer: PeerRun | None) -> None:
    count = ours.served
    mine = ours.from_message
    how = "one at a time" if at_once == 1 else f"{at_once} at once"
    head = f"{how} ({count}): Frontdesk {mine.per_second:.1f}/s p95 {mine.p95_ms:.0f} ms"
    if peer is not None:
        theirs = peer.figures
        head += (
            f" | Rasa REST {theirs.per_second:.1f}/s p95 {theirs.p95_ms:.0f} ms"
            f" | ratio {mine.per_second / theirs.per_second:.2f}x throughput,"
            f" {mine.p95_ms / theirs.p95_ms:.1f}x p95"
        )
    text(head)
    text(
        f"    Frontdesk message → reply {spread(mine.seconds)}; "
        f"opening the chat → reply {spread(ours.from_open.seconds)}"
    )
    cpu = f"app {busy.cpu['app'] / count * 1000:.1f} ms"
    if "Rasa" in busy.cpu:
        cpu += f" + Rasa {busy.cpu['Rasa'] / count * 1000:.1f} ms"
    if peer is not None:
        cpu += f" | Rasa REST {peer.cpu_ms:.1f} ms"
    text(f"    CPU per new customer: {cpu} | cores busy: {busy.cores()}")
    if ours.dropped:
        text(f"    !! the app closed {ours.dropped} of {count} sockets before the reply")
    if failed := ours.replies_containing(NLU_DOWN):
        text(f"    !! {failed} of {count} customers were told the NLU was down")
