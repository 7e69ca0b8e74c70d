from collections import Counter

import pytest

from nlu.evaluation import Prediction, folds, format_report, score
from nlu.training import Example


def p(expected: str, predicted: str, confidence: float = 0.9, text: str = "t") -> Prediction:
    return Prediction(text, expected, predicted, confidence)


def test_scores_per_intent() -> None:
    predictions = [
        p("refund", "refund"),
        p("refund", "refund"),
        p("refund", "billing", text="money back for invoice"),
        p("billing", "billing", 0.5),
        p("greet", "greet"),
        p("greet", "billing", 0.4),
    ]
    report = score(predictions, threshold=0.6)
    by_intent = {s.intent: s for s in report.scores}
    assert by_intent["refund"].precision == 1.0
    assert by_intent["refund"].recall == pytest.approx(2 / 3)
    assert by_intent["refund"].f1 == pytest.approx(0.8)
    assert by_intent["billing"].precision == pytest.approx(1 / 3)
    assert by_intent["billing"].recall == 1.0
    assert by_intent["billing"].support == 1
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report.below_threshold == pytest.approx(2 / 6)
    assert report.confusions[0] == ("greet", "billing", 1, "t")
    assert ("refund", "billing", 1, "money back for invoice") in report.confusions
    text = format_report(report, "title")
    assert "refund" in text
    assert "refund -> billing  1  'money back for invoice'" in text


def test_an_intent_only_predicted_scores_zero_and_is_not_averaged() -> None:
    report = score([p("greet", "sales")], threshold=0.6)
    assert {s.intent: s.support for s in report.scores} == {"greet": 0, "sales": 0} | {"greet": 1}
    assert report.macro_f1 == 0.0


def test_folds_are_stratified_disjoint_and_reproducible() -> None:
    examples = [Example(f"{i}", f"{i}", intent) for intent in ("a", "b", "c") for i in range(10)]
    parts = folds(examples, 5)
    assert sorted(e.text + e.intent for part in parts for e in part) == sorted(
        e.text + e.intent for e in examples
    )
    for part in parts:
        assert Counter(e.intent for e in part) == {"a": 2, "b": 2, "c": 2}
    assert folds(examples, 5) == parts


def test_one_fold_is_not_cross_validation() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        folds([], 1)
