"""A bounded memory by key: the latest `size` entries put, the oldest let go when one more
comes. A key put again keeps its place (dicts keep the order keys came in)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Latest(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[K, V] = {}

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        if len(self._entries) > self.size:
            del self._entries[next(iter(self._entries))]

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
