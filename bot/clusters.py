"""Messages grouped by the words they share, so that a topic the bot does not know
stands out as a group: one pass, each message joining the group whose key words it
overlaps most (Jaccard, at least THRESHOLD), or starting a group of its own."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

THRESHOLD = 0.25


def listed(words: str) -> frozenset[str]:
    """A word list written as text, one space or line between words."""
    return frozenset(words.split())


_WORDS = re.compile(r"[^\W\d_]{3,}")
_STOP = listed(
    """
the and for you your are was were have has had this that with from but not can could
would will what when where who why how hello please thanks thank there their they them
get got just about any some our out all one its it's i'm i've does did dont don't
"""
)


def words(text: str) -> frozenset[str]:
    """The words that can say what a message is about: three letters or more, not the
    commonest English ones."""
    return frozenset(w for w in _WORDS.findall(text.casefold()) if w not in _STOP)


@dataclass
class Cluster:
    members: list[int] = field(default_factory=list)  # indexes into the messages given
    counts: Counter[str] = field(default_factory=Counter)

    def key_words(self) -> frozenset[str]:
        """The words at least half the members share (all of a lone message's)."""
        needed = len(self.members) / 2
        return frozenset(w for w, n in self.counts.items() if n >= needed)

    def top(self, n: int = 3) -> list[str]:
        return [w for w, _ in sorted(self.counts.items(), key=lambda i: (-i[1], i[0]))[:n]]


def cluster(texts: Sequence[str]) -> list[Cluster]:
    """Groups of `texts`, largest first; a message without words to go by is left out."""
    found: list[Cluster] = []
    for index, text in enumerate(texts):
        mine = words(text)
        if not mine:
            continue
        best, similarity = None, THRESHOLD
        for group in found:
            keys = group.key_words()
            overlap = len(mine & keys) / len(mine | keys) if keys else 0.0
            if overlap >= similarity:
                best, similarity = group, overlap
        if best is None:
            best = Cluster()
            found.append(best)
        best.members.append(index)
        best.counts.update(mine)
    return sorted(found, key=lambda g: -len(g.members))
