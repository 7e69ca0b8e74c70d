"""Parse latency and throughput through our client against the real Rasa server."""

import asyncio
import time

from benchmarks.report import latencies, line
from benchmarks.usage import rss_mib
from nlu import RasaClassifier
from nlu.service import NluService

TEXTS = [
    "where is my order 12345",
    "I was charged twice for my subscription this month",
    "hi",
    "can I talk to a real person please",
    "the app keeps crashing when I open my basket",
    "I forgot my password and the reset email never arrives",
    "please cancel my Acme Plus membership",
    "do you sell gift cards for businesses?",
    "the courier was incredibly rude and left the parcel in the rain",
    "what's the weather like in Lisbon tomorrow",
    "I want a refund for order 98765, the chair arrived broken",
    "thanks, that's all, bye",
]


async def sequential(client: RasaClassifier, count: int) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        await client.classify(TEXTS[i % len(TEXTS)])
        samples.append(time.perf_counter() - start)
    return samples


async def concurrent(client: RasaClassifier, count: int, width: int) -> float:
    async def worker(offset: int) -> None:
        for i in range(offset, count, width):
            await client.classify(TEXTS[i % len(TEXTS)])

    start = time.perf_counter()
    await asyncio.gather(*(worker(offset) for offset in range(width)))
    return count / (time.perf_counter() - start)


async def run(service: NluService, start_seconds: float, count: int = 300) -> None:
    kind = "managed server" if service.managed else "RASA_URL"
    print(f"NLU: Rasa /model/parse through RasaClassifier ({kind})")
    client = service.classifier
    if service.server is not None:
        line("server start until first parse", start_seconds, "s")
    await sequential(client, 20)  # warm-up
    samples = await sequential(client, count)
    latencies("parse latency", samples)
    line("parses/s, one at a time", count / sum(samples), "/s")
    line("parses/s, 8 concurrent", await concurrent(client, count, 8), "/s")
    if service.server is not None and service.server.pid is not None:
        line("Rasa server RSS", rss_mib(service.server.pid), "MiB")
