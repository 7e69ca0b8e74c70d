"""6. The app's resident memory: idle (started, NLU ready), then with 1,000 widget sockets
open (each a new visitor who said hello)."""

from __future__ import annotations

import asyncio

from benchmarks.databases import sqlite
from benchmarks.report import heading, text
from benchmarks.stage import stage
from benchmarks.visitors import Visitor

SOCKETS = 1000
IDLE = 10.0  # seconds of watching the app's CPU with the sockets open


async def run() -> None:
    heading(f"6. App memory (VmRSS): idle, and with {SOCKETS:,} widget sockets open")
    async with sqlite() as url, stage("memory", url) as on:
        await asyncio.sleep(2)  # whatever the start left to do
        idle = on.app.rss_mib()
        room = asyncio.Semaphore(50)

        async def arrive() -> Visitor:
            async with room:
                return await Visitor.arrive(on.app.url)

        visitors = await asyncio.gather(*(arrive() for _ in range(SOCKETS)))
        await asyncio.sleep(2)
        busy = on.app.rss_mib()
        # Open sockets cost CPU even when nobody writes (pings, the widget's safety poll).
        meter = on.meter()
        meter.start()
        await asyncio.sleep(IDLE)
        quiet = meter.stop()
        await asyncio.gather(*(v.leave() for v in visitors))
        problems = on.app.problems()
    text(f"idle {idle:.0f} MiB | {SOCKETS:,} sockets open {busy:.0f} MiB")
    text(
        f"app CPU with {SOCKETS:,} sockets open and nobody writing: "
        f"{quiet.cpu['app'] / quiet.wall * 100:.1f}% of a core (over {IDLE:.0f} s)"
    )
    text(f"app log: {problems}")
