"""3. Customers' messages relayed to Slack in conversations already with an employee, at
rising offered rates (open loop: messages go out on schedule whether or not the app
keeps up), until p95 from the widget send to the post's arrival at the Slack double
reaches 250 ms; then 4. employees' replies back to the widgets, in the same app.

Each of the 1,000 conversations has its own employee and DM, and the messages take
turns round the conversations, so no channel gets more than about one post a second:
the figure is the app's, not Slack's pacing."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.databases import backends
from benchmarks.handoffs import Assigned, hand_off, leave
from benchmarks.profile import profile
from benchmarks.replies import replies
from benchmarks.report import failure, heading, percentile, spread, text
from benchmarks.slack_double import SlackDouble
from benchmarks.stage import LOGS, Stage, stage
from benchmarks.usage import Busy, Meter
from benchmarks.visitors import Visitor

CONVERSATIONS = 1000
SETUP = 75.0  # seconds of handoffs at most: a slow app gets fewer conversations
RATES = (25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000)  # messages/s, in turn
SECONDS = 8.0  # per offered rate
DRAIN = 15.0  # how long a message may take before it counts as lost
TARGET = 0.250  # p95, seconds
_SEQ = re.compile(r"follow-up (\d+)$")
_numbers = itertools.count()  # unique across steps: a late post is never mistaken


@dataclass(frozen=True)
class Step:
    rate: int
    sent: int
    latencies: tuple[float, ...]  # widget send → post at the Slack double
    relayed_per_second: float
    busy: Busy

    @property
    def lost(self) -> int:
        return self.sent - len(self.latencies)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95) if self.latencies else float("inf")

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.p95 < TARGET

    @property
    def cpu_ms(self) -> float:
        return self.busy.cpu["app"] / max(len(self.latencies), 1) * 1000


async def offer(
    conversations: Sequence[Visitor], slack: SlackDouble, meter: Meter, rate: float, seconds: float
) -> Step:
    """Send `rate` messages a second for `seconds`, taking turns round the
    conversations; wait for them at the Slack double."""
    before, threaded = await slack.counts()
    total = round(rate * seconds)
    sent: dict[int, float] = {}
    meter.start()
    started = time.monotonic()
    for index in range(total):
        due = started + index / rate
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        number = next(_numbers)
        sent[number] = time.monotonic()
        await conversations[index % len(conversations)].say(f"follow-up {number}")
    deadline = time.monotonic() + DRAIN
    # Polling: the double is another process, with nothing to await on.
    while (await slack.counts())[1] < threaded + total and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    busy = meter.stop()
    latencies, last = [], started
    for post in await slack.posts(after=before):
        if post.thread_ts and (found := _SEQ.search(post.text)) and int(found[1]) in sent:
            latencies.append(post.arrived - sent.pop(int(found[1])))
            last = max(last, post.arrived)
    relayed = len(latencies) / max(last - started, seconds)
    return Step(round(rate), total, tuple(latencies), relayed, busy)


async def run() -> None:
    relayed: list[str] = []
    answered: list[str] = []
    for name, database in backends():
        async with database() as url, stage(f"relay-{name}", url) as on:
            try:
                await _measure(name, on, relayed, answered)
            except (RuntimeError, TimeoutError) as exc:
                relayed.append(f"{name}: !! stopped: {failure(exc)}")
            relayed.append(f"{name}: app log: {on.app.problems()}")
    heading(
        f"3. Messages relayed to Slack in assigned conversations: {CONVERSATIONS:,} "
        f"conversations, each with its own employee's DM; open loop, {SECONDS:.0f} s per "
        "offered rate; latency from the widget send to the post at the Slack double"
    )
    for row in relayed:
        text(row)
    heading("4. Employee reply → customer's widget: signed Slack thread reply events")
    for row in answered:
        text(row)


async def _measure(name: str, on: Stage, relayed: list[str], answered: list[str]) -> None:
    started = time.monotonic()
    handoffs = await hand_off(on.app.url, on.slack, CONVERSATIONS, budget=SETUP)
    assigned = handoffs.assigned
    setup = time.monotonic() - started
    relayed.append(
        f"{name}: {len(assigned):,} conversations handed off through triage one at a time in "
        f"{setup:.0f} s ({len(assigned) / setup:.0f}/s), to {handoffs.spread()}; "
        f"app RSS {on.app.rss_mib():.0f} MiB with their sockets open"
    )
    if handoffs.dropped:
        relayed.append(f"{name}: !! {_dropped(handoffs.dropped)}")
    async with profile(on.app.pid, LOGS / f"relay-{name}.raw") as profiled:
        steps = await _steps(assigned, on.slack, on.meter())
    relayed += [_step_line(s) for s in steps]
    relayed.append(_best(name, steps))
    if profiled.summary:
        relayed += profiled.summary.splitlines()
    await on.slack.quiet(still=1.0, patience=60)  # a backlog must not slow the replies
    answered += await _replies(name, on.app.url, assigned, on.meter(), on.app.pid)
    if refused := sum(len(a.visitor.errors) for a in assigned):
        relayed.append(f"{name}: !! the widget answered {refused} messages with an error frame")
    await leave(assigned)


async def _steps(assigned: list[Assigned], slack: SlackDouble, meter: Meter) -> list[Step]:
    visitors = [a.visitor for a in assigned]
    steps = []
    # No conversation may write faster than Slack's pace for its DM (about 1/s).
    for rate in (r for r in RATES if r <= len(visitors)):
        step = await offer(visitors, slack, meter, rate, SECONDS)
        steps.append(step)
        if not step.passed:
            break  # beyond this the backlog only grows
    return steps


def _dropped(count: int) -> str:
    return (
        f"the app closed {count} sockets on a new customer's first message (an error in "
        "its log); the message was resent on a new socket, as the widget does"
    )


def _step_line(step: Step) -> str:
    lost = f", {step.lost} LOST" if step.lost else ""
    timing = spread(step.latencies) if step.latencies else "nothing arrived"
    return (
        f"  offered {step.rate:>4}/s → relayed {step.relayed_per_second:6.1f}/s  {timing}"
        f"  app CPU {step.cpu_ms:.2f} ms/msg{lost} | {step.busy.cores()}"
    )


def _best(name: str, steps: list[Step]) -> str:
    good = [s for s in steps if s.passed]
    if not good:
        return f"{name}: no offered rate kept p95 under {TARGET * 1000:.0f} ms"
    best = good[-1]
    return (
        f"{name}: highest offered rate with p95 < {TARGET * 1000:.0f} ms: {best.rate}/s "
        f"(relayed {best.relayed_per_second:.0f}/s, p95 {best.p95 * 1000:.0f} ms, "
        f"app CPU {best.cpu_ms:.2f} ms per message)"
    )


async def _replies(
    name: str, app_url: str, assigned: list[Assigned], meter: Meter, pid: int
) -> list[str]:
    rows = []
    for at_once, count in ((1, 200), (50, 500)):
        output = LOGS / f"replies-{at_once}-{name}.raw"
        async with profile(pid, output) as profiled:
            meter.start()
            found = await replies(app_url, assigned, at_once=at_once, count=count)
            busy = meter.stop()
        shown = found.shown
        how = "one at a time" if at_once == 1 else f"{at_once} at once"
        rows.append(
            f"{name:<10} {how} ({count}): shown in the widget "
            f"{spread(shown.seconds)} | event acknowledged {spread(found.acknowledged)} | "
            f"app CPU {busy.cpu['app'] / count * 1000:.1f} ms per reply"
        )
        rows += profiled.summary.splitlines()
    return rows
