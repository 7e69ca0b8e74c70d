"""The word-list sentiment scorer."""

import pytest

from bot.sentiment import score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks, that was quick and helpful!", 1.0),
        ("I was charged twice and nobody answers, this is unacceptable", -1.0),
        ("where is my order 12345", 0.0),
        ("The app is not working", -1.0),  # "not" turns "working" round
        ("not bad at all, thanks", 1.0),
        ("great, but the parcel is still missing", 0.0),
    ],
)
def test_messages_are_scored_by_their_words(text: str, expected: float) -> None:
    assert score(text) == expected
