"""How a customer's message feels, from -1 (angry) to 1 (pleased): a small word list
scored by counting, with "not"/"never" turning the next words round. No model: it
reads plain English only, misses sarcasm, and is meant for trends over many messages
per topic, not for judging one."""

from __future__ import annotations

import re

from bot.clusters import listed

_WORDS = re.compile(r"[a-z']+")
_NEGATORS = listed(
    "not no never don't didn't doesn't isn't wasn't won't can't cannot haven't "
    "hasn't nothing nobody"
)
_REACH = 2  # words after a negator that it turns round
POSITIVE = listed(
    """
thanks thank great good excellent perfect love lovely happy glad helpful quick fast
amazing awesome wonderful pleased fantastic brilliant nice appreciate appreciated works
working resolved solved fixed easy kind best recommend smooth"""
)
NEGATIVE = listed(
    """
angry annoyed awful bad broken charged twice complaint crash crashing crashes disappointed
disappointing frustrated frustrating furious horrible hate late lost missing
rude ridiculous slow terrible unacceptable useless worst wrong waiting waited worse
scam fraud damaged error errors fail failed failing problem problems issue
stuck ignored unhappy poor"""
)


def score(text: str) -> float:
    """(positive - negative) / (positive + negative) over the words of the list found
    in `text`; 0.0 when none are."""
    positive = negative = 0
    turned = 0
    for word in _WORDS.findall(text.casefold()):
        if word in _NEGATORS:
            turned = _REACH
            continue
        polarity = (word in POSITIVE) - (word in NEGATIVE)
        if turned:
            polarity, turned = -polarity, turned - 1
        positive += polarity > 0
        negative += polarity < 0
    found = positive + negative
    return (positive - negative) / found if found else 0.0
