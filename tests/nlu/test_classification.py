from typing import Any

import pytest

from nlu import Classification, Entity, NluBadResponse


def test_a_rasa_parse_becomes_a_classification() -> None:
    result = Classification.from_rasa(
        {
            "text": "refund 12345 and 12345 to a@example.com",
            "intent": {"name": "refund", "confidence": 0.8},
            "entities": [
                {"entity": "email", "value": "a@example.com", "start": 26, "end": 39},
                {"entity": "order_id", "value": "12345", "start": 7, "end": 12, "extractor": "X"},
                {"entity": "order_id", "value": "12345", "start": 17, "end": 22},
            ],
            "intent_ranking": [
                {"name": "refund", "confidence": 0.8},
                {"name": "billing", "confidence": 0.15},
            ],
            "language": "en",
        }
    )
    assert result.intent == "refund"
    assert result.confidence == pytest.approx(0.8)
    assert result.entities == (  # once each, in the order they appear
        Entity("order_id", "12345", 7, 12),
        Entity("email", "a@example.com", 26, 39),
    )
    assert [score.intent for score in result.ranking] == ["refund", "billing"]
    assert result.entity("email") == "a@example.com"
    assert result.entity("phone") is None
    assert result.language == "en"
    assert Classification.from_rasa({"intent": {"name": "hi", "confidence": 1}}).language is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {},
        {"intent": None},
        {"intent": {"name": "", "confidence": 1.0}},
        {"intent": {"name": "greet", "confidence": "very"}},
        {"intent": {"name": "greet", "confidence": 1.0}, "entities": [{"entity": "x"}]},
        {"intent": {"name": "greet", "confidence": 1.0}, "language": ["de"]},
    ],
)
def test_anything_else_is_a_bad_response(payload: Any) -> None:
    with pytest.raises(NluBadResponse):
        Classification.from_rasa(payload)
