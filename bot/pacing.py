"""Pacing sends per destination (a Slack channel, a Telegram chat) to what the far side
allows, before it has to refuse with a 429: a token bucket per key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """At most `rate` sends a second to each key, after a burst of up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self._tokens: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def reserve(self, key: str) -> float:
        """Take the next send slot for `key`; how many seconds until it comes."""
        now = self.clock()
        tokens, at = self._tokens.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate) - 1
        self._tokens[key] = (tokens, now)
        if len(self._tokens) > 10_000:  # forget keys whose buckets are full again
            full = [
                k for k, (t, a) in self._tokens.items() if t + (now - a) * self.rate >= self.burst
            ]
            for stale in full:
                del self._tokens[stale]
        return max(0.0, -tokens / self.rate)

    async def wait(self, key: str) -> None:
        """Wait for the next send slot for `key` (callers queue in arrival order)."""
        if (delay := self.reserve(key)) > 0:
            await self.sleep(delay)
