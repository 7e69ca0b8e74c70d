"""One abusive widget visitor, in a process of its own (as an attacker's machine would
be): it opens `sockets` sockets at once from its address and holds those let in for
`hold` seconds, while sending message frames at about `rate` a second over one socket
for `seconds`, reconnecting whenever the server closes it. It prints one line when it
starts flooding and, at the end, what it got as JSON: acks and error codes (those
refusing a socket's hello end in "at hello"), closes by code, frames sent.

    python -m tests.fakes.flood URL ADDRESS TOKEN --seconds 4 --rate 1000
"""

import argparse
import asyncio
import contextlib
import json
import sys
from collections import Counter
from typing import Any

import websockets

from tests.fakes.visitor import Refused, Visitor


class Flood:
    def __init__(self, url: str, address: str, token: str) -> None:
        self.url, self.address, self.token = url, address, token
        self.seen: Counter[str] = Counter()  # acks, error codes, closes, connects
        self.seconds = 0.0  # how long it sent for

    async def messages(self, seconds: float, rate: float) -> None:
        """For `seconds`, send message frames at `rate` a second (in ticks of 10 ms)
        over one socket; when the server closes it, connect again at once, and when it
        refuses, again after 10 ms. Frames are not saved up while it has no socket."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        end, sent = started + seconds, 0
        while loop.time() < end:
            visitor = await self._connect()
            if visitor is None:
                await asyncio.sleep(0.01)
                continue
            due = loop.time()
            try:
                while loop.time() < end:
                    if (ahead := due - loop.time()) > 0.01:
                        await asyncio.sleep(ahead)
                    frame = {"type": "message", "id": f"flood{sent}", "text": f"spam {sent}"}
                    await visitor.socket.send(json.dumps(frame))
                    sent, due = sent + 1, due + 1 / rate
                # The server answers frames in order: its answer to this one comes
                # after its answers to every message before it.
                await visitor.socket.send(json.dumps({"type": "done"}))
            except websockets.ConnectionClosed:
                pass
            await self._answers(visitor)
            await visitor.__aexit__(None, None, None)
            self.seen[f"closed {visitor.socket.close_code}"] += 1
        self.seen["frames"] = sent
        self.seconds = round(loop.time() - started, 2)

    async def sockets(self, count: int, hold: float) -> None:
        """Open `count` sockets at once; hold those let in for `hold` seconds."""

        async def one() -> Visitor | None:
            try:
                return await self._connect(counted=False)
            except OSError:
                self.seen["socket_failed"] += 1
                return None

        opened = [v for v in await asyncio.gather(*(one() for _ in range(count))) if v]
        self.seen["sockets_open"] = len(opened)
        await asyncio.sleep(hold)
        for visitor in opened:
            await visitor.__aexit__(None, None, None)

    async def _connect(self, *, counted: bool = True) -> Visitor | None:
        visitor = Visitor(self.url, token=self.token, address=self.address)
        try:
            await visitor.__aenter__()
        except Refused as refused:
            self.seen[f"{refused.code} at hello"] += 1
            return None
        except websockets.ConnectionClosed:
            self.seen["closed before welcome"] += 1
            return None
        if counted:
            self.seen["connects"] += 1
        return visitor

    async def _answers(self, visitor: Visitor) -> None:
        """Tally the server's answers until it has answered the last frame (the
        marker) or closed the socket, whichever comes first."""
        closed = asyncio.ensure_future(visitor.closed(timeout=10))
        while not closed.done():
            answer = asyncio.ensure_future(visitor.frames.get())
            await asyncio.wait({answer, closed}, return_when=asyncio.FIRST_COMPLETED)
            if answer.done():
                if answer.result().get("code") == "unknown_type":
                    break  # the marker
                self._tally(answer.result())
            answer.cancel()
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await closed
        while not visitor.frames.empty():
            self._tally(visitor.frames.get_nowait())

    def _tally(self, frame: dict[str, Any]) -> None:
        if frame["type"] in ("ack", "error"):
            self.seen[frame.get("code", "ack")] += 1


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("address")
    parser.add_argument("token")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--hold", type=float, default=1.5)
    args = parser.parse_args()
    flood = Flood(args.url, args.address, args.token)
    sockets = asyncio.create_task(flood.sockets(args.sockets, args.hold))
    print("flooding", flush=True)
    await flood.messages(args.seconds, args.rate)
    await sockets
    json.dump({**flood.seen, "seconds": flood.seconds}, sys.stdout)
    print(flush=True)


if __name__ == "__main__":
    asyncio.run(main())
