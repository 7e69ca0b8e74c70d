"""Public intent benchmarks (Banking77, CLINC150) through the real pipeline and server:
train on the train split, choose the clarify threshold on validation data, score the test
split once, and say what it cost (training time, parse latency, the server's memory).

Banking77's train split has no validation part: a tenth of it is held out to choose the
threshold on, by a model trained on the rest, and the model scored on test is then
trained on the whole train split, as the published figures' models were."""

from __future__ import annotations

import csv
import json
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlu.environment import Progress, RasaEnvironment
from nlu.evaluation import Prediction, classify_all, score
from nlu.server import RasaServer
from nlu.training import Example, RasaProject, train, write_data

DATASETS = ("banking77", "clinc150")
OUT_OF_SCOPE = "out_of_scope"  # the shipped data's name; CLINC150's "oos" becomes this
MAX_FLAGGED = 0.02  # the share of in-scope messages the chosen threshold may flag
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))  # the curve as printed
# Where the threshold is chosen: in steps of 0.05 the choice could fall up to 0.05 short
# of the limit, catching fewer out-of-scope messages than the limit allows.
_CHOICES = tuple(round(0.01 * i, 2) for i in range(100))
_HELD_OUT = 0.1  # of Banking77's train split, which has no validation split


@dataclass(frozen=True)
class Splits:
    train: list[Example]
    validation: list[Example]  # where the threshold is chosen
    test: list[Example]  # scored once
    refit: bool = False  # validation was held out of train: train on both before testing


@dataclass(frozen=True)
class Point:
    """What one clarify threshold does: a message is flagged (asked to clarify) when the
    model says out-of-scope or is less sure than the threshold."""

    threshold: float
    in_scope_flagged: float  # share of in-scope messages flagged
    oos_recall: float | None  # share of out-of-scope messages flagged (None: there are none)


@dataclass(frozen=True)
class Costs:
    training_seconds: float
    cold_start_seconds: float
    parse_p50: float
    parse_p95: float
    server_rss_mb: float | None  # None where /proc is not there to read


def load(dataset: str, path: Path, shots: int | None = None, seed: int = 7) -> Splits:
    """A dataset folder in the layout of ../shared/datasets (see its README), with at most
    `shots` training examples per intent (out-of-scope ones excepted) when given."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not security
    if dataset == "banking77":
        whole = _csv(path / "train.csv")
        train_part, validation = _split(whole, _HELD_OUT, rng)
        splits = Splits(train_part, validation, _csv(path / "test.csv"), refit=shots is None)
    elif dataset == "clinc150":
        data = json.loads((path / "data_full.json").read_text(encoding="utf-8"))

        def part(*names: str) -> list[Example]:
            return [_example(text, intent) for name in names for text, intent in data[name]]

        splits = Splits(
            part("train", "oos_train"), part("val", "oos_val"), part("test", "oos_test")
        )
    else:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    if shots is not None:
        splits = Splits(_shots(splits.train, shots, rng), splits.validation, splits.test)
    return splits


def curve(
    predictions: Sequence[Prediction], thresholds: Sequence[float] = THRESHOLDS
) -> list[Point]:
    """The trade-off between catching out-of-scope messages and bothering the others."""
    in_scope = [p for p in predictions if p.expected != OUT_OF_SCOPE]
    out = [p for p in predictions if p.expected == OUT_OF_SCOPE]
    return [
        Point(
            t,
            _share(sum(_flagged(p, t) for p in in_scope), len(in_scope)),
            _share(sum(_flagged(p, t) for p in out), len(out)) if out else None,
        )
        for t in thresholds
    ]


def choose(points: Sequence[Point], max_flagged: float = MAX_FLAGGED) -> Point:
    """The highest threshold that flags at most `max_flagged` of in-scope messages: it
    catches the most out-of-scope ones that this cost allows."""
    allowed = [p for p in points if p.in_scope_flagged <= max_flagged]
    if not allowed:
        return min(points, key=lambda p: p.threshold)
    return max(allowed, key=lambda p: p.threshold)


def chosen_threshold(predictions: Sequence[Prediction]) -> Point:
    """The clarify threshold these predictions call for, chosen in steps of 0.01."""
    return choose(curve(predictions, _CHOICES))


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(
    splits: Splits, project: RasaProject, env: RasaEnvironment, workdir: Path, progress: Progress
) -> tuple[list[Prediction], list[Prediction], Costs]:
    """Train with the shipped pipeline and classify validation and test data through a real
    Rasa server: (validation predictions, test predictions, the tested model's costs)."""
    model, trained = _trained(splits.train, project, env, workdir / "train", progress)
    if splits.refit:
        [validation], _, _ = await _classified(env, model, [splits.validation], progress)
        whole = splits.train + splits.validation
        model, trained = _trained(whole, project, env, workdir / "train-and-validation", progress)
        [test], cold_start, rss = await _classified(env, model, [splits.test], progress)
    else:
        parts = [splits.validation, splits.test]
        [validation, test], cold_start, rss = await _classified(env, model, parts, progress)
    seconds = [p.seconds for p in test]
    costs = Costs(trained, cold_start, statistics.median(seconds), percentile(seconds, 0.95), rss)
    return validation, test, costs


async def _classified(
    env: RasaEnvironment, model: Path, parts: list[list[Example]], progress: Progress
) -> tuple[list[list[Prediction]], float, float | None]:
    """Each part's predictions from a Rasa server with this model (its log beside the
    model), the server's cold start in seconds and its memory once done."""
    progress(f"Classifying {sum(len(part) for part in parts)} messages one at a time")
    started = time.monotonic()
    async with RasaServer(env, model, log_file=model.parent / "rasa.log") as server:
        cold_start = time.monotonic() - started
        predictions = [await classify_all(server.url, part) for part in parts]
        return predictions, cold_start, _rss_mb(server.pid)


def _trained(
    examples: list[Example],
    project: RasaProject,
    env: RasaEnvironment,
    workdir: Path,
    progress: Progress,
) -> tuple[Path, float]:
    """A model trained on these examples, and the seconds its training took."""
    write_data(workdir / "data" / "nlu.yml", examples, [])
    progress(f"Training on {len(examples)} examples")
    started = time.monotonic()
    model = train(env, project.config, workdir / "data", workdir / "model.tar.gz", progress)
    return model, time.monotonic() - started


def format_benchmark(
    title: str, validation: Sequence[Prediction], test: Sequence[Prediction], costs: Costs
) -> str:
    chosen = chosen_threshold(validation)
    at_chosen = curve(test, [chosen.threshold])[0]
    report = score([p for p in test if p.expected != OUT_OF_SCOPE], chosen.threshold)
    lines = [
        title,
        "",
        f"in-scope accuracy {report.accuracy:.1%}   macro F1 {report.macro_f1:.1%}   "
        f"({report.count} in-scope test messages)",
        f"clarify threshold {chosen.threshold:.2f} (chosen on validation data: the highest "
        f"that flags <= {MAX_FLAGGED:.0%} of in-scope messages there)",
        f"  on the test split: out-of-scope recall {_percent(at_chosen.oos_recall)}, "
        f"in-scope flagged {at_chosen.in_scope_flagged:.1%}",
        "",
        format_curve(curve(test), "test split"),
    ]
    rss = f"{costs.server_rss_mb:.0f} MB" if costs.server_rss_mb is not None else "unknown"
    lines += [
        "",
        f"training {costs.training_seconds:.0f} s   "
        f"Rasa cold start {costs.cold_start_seconds:.1f} s"
        f"   parse p50 {costs.parse_p50 * 1000:.1f} ms, p95 {costs.parse_p95 * 1000:.1f} ms"
        f"   server RSS {rss}",
    ]
    return "\n".join(lines)


def format_curve(points: Sequence[Point], scored_on: str) -> str:
    rows = [
        f"     {p.threshold:.2f}  {p.in_scope_flagged:16.1%}  {_percent(p.oos_recall):>19}"
        for p in points
    ]
    return "\n".join([f"threshold  in-scope flagged  out-of-scope recall   ({scored_on})", *rows])


def _flagged(prediction: Prediction, threshold: float) -> bool:
    return prediction.predicted == OUT_OF_SCOPE or prediction.confidence < threshold


def _example(text: str, intent: str) -> Example:
    """Rasa reads `[`, `]`, `(` in training lines as entity marks: keep them plain."""
    plain = " ".join(text.translate(str.maketrans("[](){}", "      ")).split())
    name = OUT_OF_SCOPE if intent == "oos" else intent
    return Example(plain, plain, name)


def _csv(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as rows:
        return [_example(row["text"], row["category"]) for row in csv.DictReader(rows)]


def _by_intent(examples: Sequence[Example]) -> dict[str, list[Example]]:
    grouped: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        grouped[example.intent].append(example)
    return grouped


def _split(
    examples: Sequence[Example], fraction: float, rng: random.Random
) -> tuple[list[Example], list[Example]]:
    """(kept, held out): `fraction` of each intent held out."""
    kept, held = [], []
    for _, group in sorted(_by_intent(examples).items()):
        shuffled = rng.sample(group, len(group))
        cut = max(1, round(fraction * len(group)))
        held += shuffled[:cut]
        kept += shuffled[cut:]
    return kept, held


def _shots(examples: Sequence[Example], shots: int, rng: random.Random) -> list[Example]:
    chosen: list[Example] = []
    for intent, group in sorted(_by_intent(examples).items()):
        chosen += group if intent == OUT_OF_SCOPE else rng.sample(group, min(shots, len(group)))
    return chosen


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"  # n/a: no out-of-scope data


def _rss_mb(pid: int | None) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    return int(kilobytes) / 1024
