"""Run every benchmark and print its figures."""

import asyncio
import os
import sys
import time
from pathlib import Path

from benchmarks import decisions, parsing, relay
from nlu.service import NluService


async def with_nlu() -> None:
    urls = [u for u in os.environ.get("RASA_URL", "").split(",") if u]
    home = Path(os.environ.get("FRONTDESK_HOME", ".frontdesk"))
    service = NluService(
        urls=urls, home=home, progress=lambda m: print(m, file=sys.stderr), timeout=30
    )
    started = time.perf_counter()
    await service.start()
    try:
        await parsing.run(service, time.perf_counter() - started)
        url = service.server.url if service.server else urls[0]
        await relay.run(url)
    finally:
        await service.stop()


def main() -> None:
    decisions.run()
    asyncio.run(with_nlu())


main()
