"""A stand-in for the Rasa server that answers `POST /model/parse` at once from a lookup
table (the tests' Rasa double, tests/fakes/rasa.py), so that a benchmark measures
Frontdesk's own share of the work; or, with `--hang`, a server that accepts connections
and never answers.

Run as its own process (`python -m benchmarks.stub_rasa --port P [--hang]`) so that its
CPU is not counted as the app's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn

from benchmarks import heap
from tests.fakes.rasa import FakeRasa, Meaning, meaning

# The bench's texts (benchmarks/parsing.py) with what the real model makes of them. A
# text that merely starts with one of these (the bench appends markers) gets its answer.
TABLE: dict[str, Meaning] = {
    "where is my order 12345": meaning("order_status", 0.99),
    "I was charged twice for my subscription this month": meaning("billing", 0.97),
    "hi": meaning("greet", 0.99),
    "can I talk to a real person please": meaning("human_handoff", 0.98),
    "the app keeps crashing when I open my basket": meaning("technical_support", 0.96),
    "I forgot my password and the reset email never arrives": meaning("account_access", 0.97),
    "please cancel my Acme Plus membership": meaning("cancel_subscription", 0.98),
    "do you sell gift cards for businesses?": meaning("sales", 0.93),
    "the courier was incredibly rude and left the parcel in the rain": meaning("complaint", 0.91),
    "what's the weather like in Lisbon tomorrow": meaning("out_of_scope", 0.95),
    "I want a refund for order 98765, the chair arrived broken": meaning("refund", 0.97),
    "thanks, that's all, bye": meaning("goodbye", 0.98),
}
UNKNOWN = meaning("out_of_scope", 0.9)
_BY_LENGTH = sorted(TABLE, key=len, reverse=True)


class BenchRasa(FakeRasa):
    """The Rasa double, matching a text by the table entry it starts with."""

    def meaning_of(self, text: str) -> Meaning | None:
        known = next((k for k in _BY_LENGTH if text.startswith(k)), None)
        return self.meanings[known] if known else self.otherwise


async def hang(port: int) -> None:
    """Accept every connection, read what comes, never answer."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hang", action="store_true", help="accept, never answer")
    args = parser.parse_args()
    heap.settle()
    if args.hang:
        asyncio.run(hang(args.port))
    else:
        uvicorn.run(
            BenchRasa(TABLE, otherwise=UNKNOWN), host="127.0.0.1", port=args.port,
            log_level="warning", access_log=False, lifespan="off", backlog=1024,
        )  # fmt: skip


if __name__ == "__main__":
    main()
