"""1. Frontdesk's own share of a new customer's first reply: new widget visitors one at
a time, each writing one message, until the bot's first reply; the NLU is a stub that
answers at once, in its own process, so what is left is the app's work."""

from __future__ import annotations

from benchmarks.databases import backends
from benchmarks.profile import profile
from benchmarks.report import heading, spread, text
from benchmarks.stage import LOGS, stage
from benchmarks.visitors import crowd

MESSAGE = "I was charged twice for my subscription this month"
WARM_UP, COUNT = 30, 300
BUDGET = 45.0  # seconds: a slow app serves fewer visitors rather than stretch the bench


async def run() -> None:
    heading(
        f"1. Frontdesk's own share of a first reply: {COUNT} new widget visitors (or as many "
        f"as {BUDGET:.0f} s allow) one at a time, stub NLU answering at once"
    )
    for name, database in backends():
        async with database() as url, stage(f"first-reply-{name}", url) as on:
            await crowd(on.app.url, [MESSAGE], at_once=1, count=WARM_UP, budget=BUDGET / 4)
            before = await on.slack.quiet()
            meter = on.meter()
            meter.start()
            async with profile(on.app.pid, LOGS / f"first-reply-{name}.raw") as profiled:
                result = await crowd(on.app.url, [MESSAGE], at_once=1, count=COUNT, budget=BUDGET)
                # Each handoff's card belongs to the cost of a new customer.
                served = len(result.arrivals)
                cards = await on.slack.settled(before + served) - before
            busy = meter.stop()
            problems = on.app.problems()
        text(f"{name}:")
        if served:
            text(
                f"{'':<10} message → first reply {spread(result.from_message.seconds)} | "
                f"opening the chat → first reply {spread(result.from_open.seconds)}"
            )
        if served and not result.dropped:  # else the CPU went on failures as well
            text(
                f"{'':<10} app CPU {busy.cpu['app'] / served * 1000:.1f} ms per new customer "
                f"(with its Slack card; {cards} cards for {served} customers) | "
                f"cores busy: {busy.cores()}"
            )
        if result.dropped:
            text(
                f"{'':<10} !! the app closed {result.dropped} of {result.served} sockets "
                "before the reply"
            )
        text(f"{'':<10} app log: {problems}")
        profiled.print()
