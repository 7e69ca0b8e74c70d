"""A token bucket per key: pacing sends per destination (a Slack channel, a Telegram
chat) to what the far side allows, before it has to refuse with a 429; and limiting
what one sender may send us (admit)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


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
        tokens = self._level(key, now) - 1
        self._tokens[key] = (tokens, now)
        if len(self._tokens) > 10_000:  # forget keys whose buckets are full again
            full = [
                k for k, (t, a) in self._tokens.items() if t + (now - a) * self.rate >= self.burst
            ]
            for stale in full:
                del self._tokens[stale]
        return max(0.0, -tokens / self.rate)

    def admit(self, key: str) -> float:
        """Take a slot for `key` only if one is free now: 0.0 if it was, else how many
        seconds until one is (nothing taken)."""
        now = self.clock()
        tokens = self._level(key, now)
        if tokens < 1:
            return (1 - tokens) / self.rate
        self._tokens[key] = (tokens - 1, now)
        return 0.0

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._tokens.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    async def wait(self, key: str) -> None:
        """Wait for the next send slot for `key` (callers queue in arrival order)."""
        if (delay := self.reserve(key)) > 0:
            await self.sleep(delay)


class Limit(Generic[T]):
    """A Pacer for what a sender may send, made from settings that can change (the
    config is reloaded): made again whenever `source` gives a different object."""

    def __init__(self, source: Callable[[], T], make: Callable[[T], Pacer]) -> None:
        self.source = source
        self.make = make
        self._made: tuple[T, Pacer] | None = None

    def admit(self, key: str) -> float:
        """See Pacer.admit."""
        current = self.source()
        if self._made is None or self._made[0] is not current:
            self._made = current, self.make(current)
        return self._made[1].admit(key)
