"""The Slack Web API double of the tests (tests.fakes.slack.FakeSlack) in a process of its
own, so that its CPU is not the app's nor the load generator's; it notes when each
post arrived (CLOCK_MONOTONIC, which every process on the machine shares) and tells the
bench over `GET /bench/...`.

`python -m benchmarks.slack_double --port P` serves it; `SlackDouble` reads it."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks import heap
from tests.fakes.slack import FakeSlack


class TimedSlack(FakeSlack):
    """FakeSlack that stamps each chat.postMessage with its arrival time."""

    threaded = 0  # posts in threads so far: counted as they come, polled often

    def _perform(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        arrived, before = time.monotonic(), len(self.posts)
        result = super()._perform(method, args)
        if len(self.posts) > before:
            self.posts[-1]["arrived"] = arrived
            self.threaded += bool(self.posts[-1].get("thread_ts"))
        return result


def serve(port: int) -> None:
    fake = TimedSlack(url=f"http://127.0.0.1:{port}")

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"posts": len(fake.posts), "thread_posts": fake.threaded})

    async def posts(request: Request) -> JSONResponse:
        """Posts from index `after` on: [arrived, channel, thread_ts, text]."""
        after = int(request.query_params.get("after", "0"))
        found = [
            [p.get("arrived"), p["channel"], p.get("thread_ts"), p.get("text", "")]
            for p in fake.posts[after:]
        ]
        return JSONResponse({"next": after + len(found), "posts": found})

    async def cards(request: Request) -> JSONResponse:
        """Top-level posts (conversation cards), with their blocks as JSON text."""
        found = [
            {"channel": p["channel"], "ts": p["ts"], "blocks": json.dumps(p.get("blocks"))}
            for p in fake.posts
            if not p.get("thread_ts")
        ]
        return JSONResponse(found)

    bench = [
        Route("/bench/count", count),
        Route("/bench/posts", posts),
        Route("/bench/cards", cards),
    ]
    app = Starlette(routes=[*bench, *fake.app().routes])
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, backlog=2048
    )


@dataclass(frozen=True)
class Post:
    arrived: float  # time.monotonic() in the double's process
    channel: str
    thread_ts: str | None
    text: str


@dataclass(frozen=True)
class Card:
    channel: str  # the employee's DM: "D" + their Slack user id
    ts: str
    blocks: str

    @property
    def user(self) -> str:
        return self.channel.removeprefix("D")


class SlackDouble:
    """The bench's view of a running double."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = f"{url}/api/"
        self._http = httpx.AsyncClient(base_url=url, timeout=30)

    async def counts(self) -> tuple[int, int]:
        """All posts, and those in threads."""
        found = (await self._http.get("/bench/count")).json()
        return int(found["posts"]), int(found["thread_posts"])

    async def settled(self, posts: int, patience: float = 60.0) -> int:
        """Wait until at least `posts` posts have come (or `patience` runs out); how many did."""
        deadline = time.monotonic() + patience
        while True:
            found, _ = await self.counts()
            if found >= posts or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)

    async def quiet(self, still: float = 0.5, patience: float = 30.0) -> int:
        """Wait until no post has come for `still` seconds; how many there are."""
        deadline = time.monotonic() + patience
        last = -1
        while True:
            found, _ = await self.counts()
            if found == last or time.monotonic() > deadline:
                return found
            last = found
            await asyncio.sleep(still)

    async def posts(self, after: int = 0) -> list[Post]:
        found = (await self._http.get("/bench/posts", params={"after": after})).json()
        return [Post(*row) for row in found["posts"]]

    async def cards(self) -> list[Card]:
        return [Card(**row) for row in (await self._http.get("/bench/cards")).json()]

    async def aclose(self) -> None:
        await self._http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    heap.settle()
    serve(port)


if __name__ == "__main__":
    main()
