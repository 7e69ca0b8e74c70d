"""The benchmark's arithmetic, in memory: the threshold trade-off curve, the threshold it
chooses, the splits it reads, and the report it prints."""

import json
from pathlib import Path

import pytest

from nlu.benchmark import (
    OUT_OF_SCOPE,
    Costs,
    Point,
    choose,
    curve,
    format_benchmark,
    load,
    percentile,
)
from nlu.evaluation import Prediction


def said(expected: str, predicted: str, confidence: float, seconds: float = 0.01) -> Prediction:
    return Prediction("text", expected, predicted, confidence, seconds)


# Four in-scope messages and two out-of-scope ones.
PREDICTIONS = [
    said("refund", "refund", 0.95),
    said("refund", "refund", 0.75),
    said("billing", "refund", 0.45),  # wrong and unsure
    said("billing", OUT_OF_SCOPE, 0.9),  # in scope, but taken for out-of-scope
    said(OUT_OF_SCOPE, OUT_OF_SCOPE, 0.8),
    said(OUT_OF_SCOPE, "billing", 0.5),
]


def test_the_curve_counts_what_each_threshold_flags() -> None:
    assert curve(PREDICTIONS, [0.0, 0.5, 0.8, 0.99]) == [
        Point(0.0, 1 / 4, 1 / 2),  # only what the model itself calls out-of-scope
        Point(0.5, 2 / 4, 1 / 2),  # 0.45 now flagged; 0.5 is not below 0.5
        Point(0.8, 3 / 4, 2 / 2),
        Point(0.99, 4 / 4, 2 / 2),
    ]


def test_without_out_of_scope_data_there_is_no_recall() -> None:
    in_scope = [p for p in PREDICTIONS if p.expected != OUT_OF_SCOPE]
    assert curve(in_scope, [0.5]) == [Point(0.5, 0.5, None)]


def test_the_chosen_threshold_is_the_highest_that_flags_little_enough() -> None:
    points = [Point(0.1, 0.0, 0.6), Point(0.2, 0.015, 0.7), Point(0.3, 0.021, 0.8)]
    assert choose(points, max_flagged=0.02) == points[1]
    assert choose(points, max_flagged=0.0) == points[0]
    # When every threshold flags too many, the lowest one does least harm.
    assert choose(points[1:], max_flagged=0.01) == points[1]


def test_percentiles_of_latencies() -> None:
    values = [i / 100 for i in range(1, 101)]
    assert percentile(values, 0.5) == 0.51
    assert percentile(values, 0.95) == 0.96
    assert percentile([], 0.95) == 0.0


def test_banking77_holds_part_of_train_out_and_keeps_test_whole(tmp_path: Path) -> None:
    rows = ["text,category"]
    rows += [f"card {i} [late],card_arrival" for i in range(20)]
    rows += [f"pin {i},change_pin" for i in range(10)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("text,category\nwhere is my card,card_arrival\n")
    splits = load("banking77", tmp_path)
    assert len(splits.validation) == 3  # a tenth of each intent: 2 + 1
    assert {e.intent for e in splits.validation} == {"card_arrival", "change_pin"}
    assert not {e.text for e in splits.validation} & {e.text for e in splits.train}
    assert len(splits.train) == 27
    assert [e.text for e in splits.test] == ["where is my card"]
    assert all("[" not in e.annotated for e in splits.train)  # not read as an entity mark
    assert splits.refit  # the tested model learns the held-out tenth too
    few = load("banking77", tmp_path, shots=5)
    assert sorted(e.intent for e in few.train) == ["card_arrival"] * 5 + ["change_pin"] * 5
    assert few.validation == splits.validation
    assert not few.refit  # ten examples per intent stay ten


def test_clinc150_trains_with_its_out_of_scope_examples(tmp_path: Path) -> None:
    data = {
        "train": [["set an alarm", "alarm"], ["wake me at 7", "alarm"]],
        "oos_train": [["how tall is a giraffe", "oos"]],
        "val": [["alarm for 6", "alarm"]],
        "oos_val": [["sing a song", "oos"]],
        "test": [["alarm at noon", "alarm"]],
        "oos_test": [["best pizza near me", "oos"]],
    }
    (tmp_path / "data_full.json").write_text(json.dumps(data))
    splits = load("clinc150", tmp_path, shots=1)
    # One example per intent; the out-of-scope examples all stay.
    assert sorted(e.intent for e in splits.train) == ["alarm", OUT_OF_SCOPE]
    assert [e.intent for e in splits.validation] == ["alarm", OUT_OF_SCOPE]
    assert [e.intent for e in splits.test] == ["alarm", OUT_OF_SCOPE]
    assert not splits.refit  # it has a validation split of its own
    with pytest.raises(ValueError, match="banking77, clinc150"):
        load("snips", tmp_path)


def test_the_report_uses_the_threshold_chosen_on_validation() -> None:
    validation = [said("refund", "refund", c / 100) for c in range(50, 100)]  # 50 in scope
    validation += [said(OUT_OF_SCOPE, "refund", 0.3)]
    costs = Costs(12.0, 9.5, 0.012, 0.021, 600.0)
    text = format_benchmark("title", validation, PREDICTIONS, costs)
    # On validation 0.51 flags 1 of 50 in scope (2%), 0.52 flags 2 (4%): 0.51 it is,
    # chosen in steps of 0.01 though the curve is printed in steps of 0.05.
    assert "clarify threshold 0.51" in text
    # The test split: 0.5 is below 0.51, so the unsure out-of-scope message is caught too.
    assert "out-of-scope recall 100.0%, in-scope flagged 50.0%" in text
    assert "in-scope accuracy 50.0%" in text  # 2 of the 4 in-scope test messages
    assert "parse p50 12.0 ms, p95 21.0 ms" in text
    assert "server RSS 600 MB" in text
    rows = [line.split() for line in text.splitlines()]
    assert ["0.50", "50.0%", "50.0%"] in rows  # the test split's curve
    assert ["0.80", "75.0%", "100.0%"] in rows
