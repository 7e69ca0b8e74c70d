"""`python -m benchmarks [SECTION ...]`: run the benchmarks (all of them by default) and
print their figures. Figures go to stdout, progress to stderr."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    decisions,
    first_reply,
    hanging,
    heap,
    history,
    memory,
    new_customers,
    parsing,
    relay,
    replay,
)
from benchmarks.peer import start_rasa_rest
from benchmarks.process import ROOT
from benchmarks.report import heading, text
from benchmarks.usage import machine_cpu_seconds, python_speed
from nlu.service import NluService

# In the order they run; each that needs Rasa shares one server.
SECTIONS = ("decisions", "first-reply", "parsing", "new-customers", "relay", "hanging",
            "memory", "history", "replay")  # fmt: skip
WITH_RASA = ("parsing", "new-customers")
STANDALONE: dict[str, Callable[[], Awaitable[None]]] = {
    "first-reply": first_reply.run,  # 1
    "relay": relay.run,  # 3 and 4
    "hanging": hanging.run,  # 5
    "memory": memory.run,  # 6
    "history": history.run,  # 7
    "replay": replay.run,  # 8
}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def with_rasa(chosen: list[str]) -> None:
    """The peer's server (Rasa REST) and Frontdesk's NLU server, both up; the parse
    figures, then the new customers (2), where the two take turns."""
    home = Path(os.environ.get("FRONTDESK_HOME", ROOT / ".frontdesk"))
    async with contextlib.AsyncExitStack() as stack:
        peer = None
        if "new-customers" in chosen:
            peer = await stack.enter_async_context(start_rasa_rest(home, progress))
        urls = [u for u in os.environ.get("RASA_URL", "").split(",") if u]
        service = NluService(urls=urls, home=home, progress=progress, timeout=30)
        started = time.monotonic()
        await service.start()
        stack.push_async_callback(service.stop)
        if "parsing" in chosen:
            print()
            await parsing.run(service, time.monotonic() - started)
        if "new-customers" in chosen:
            server = service.server
            url = server.url if server else urls[0]
            await new_customers.run(url, server.pid if server else None, peer)


async def main(chosen: list[str]) -> None:
    rasa_done = False
    for section in (s for s in SECTIONS if s in chosen):
        if section == "decisions":
            print()
            decisions.run()
        elif section not in WITH_RASA:
            await STANDALONE[section]()
        elif not rasa_done:
            await with_rasa(chosen)  # every chosen section that needs Rasa, in one go
            rasa_done = True


def _others_busy(seconds: float = 2.0) -> float:
    """Cores kept busy by the rest of the machine before the bench starts."""
    before = machine_cpu_seconds()
    time.sleep(seconds)
    return (machine_cpu_seconds() - before) / seconds


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "sections",
        nargs="*",
        metavar="SECTION",
        help=f"any of: {', '.join(SECTIONS)} (default: all)",
    )
    chosen = parser.parse_args().sections or list(SECTIONS)
    if unknown := set(chosen) - set(SECTIONS):
        parser.error(f"unknown section {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    # A thousand widget sockets, in the bench and in the app it starts.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"Frontdesk bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores shared by the app, the NLU, "
        "the Slack double and the clients; PostgreSQL "
        + ("included" if os.environ.get("TEST_DATABASE_URL") else "skipped (no TEST_DATABASE_URL)")
    )
    print(
        f"This machine's speed: a fixed piece of plain Python takes {python_speed():.0f} ms "
        "now (again at the end; compare absolute figures of two runs only beside it)"
    )
    others = _others_busy()
    if others > 0.2:
        print(
            f"!! Other processes keep {others:.1f} of the cores busy: figures will be low and "
            "noisy (each section's 'all' column shows the whole machine)"
        )
    heap.settle()
    started = time.monotonic()
    asyncio.run(main(chosen))
    minutes, seconds = divmod(time.monotonic() - started, 60)
    heading(f"Bench finished in {minutes:.0f} min {seconds:.0f} s")
    text(f"this machine's speed at the end: {python_speed():.0f} ms for the same plain Python")
    text(f"logs of the processes it started: {ROOT / '.frontdesk' / 'logs' / 'bench'}")


cli()
