"""How well the NLU classifies: cross-validation or a held-out file, scored per intent
(precision, recall, F1) with the pairs it confuses most."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlu.client import RasaClassifier
from nlu.environment import Progress, RasaEnvironment
from nlu.server import RasaServer
from nlu.training import Example, RasaProject, read_examples, train, write_data


@dataclass(frozen=True)
class Prediction:
    text: str
    expected: str
    predicted: str
    confidence: float
    seconds: float = 0.0  # how long the parse took, round trip


@dataclass(frozen=True)
class IntentQuality:
    """How well one intent is recognised."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    scores: tuple[IntentQuality, ...]
    accuracy: float
    macro_f1: float
    confusions: tuple[tuple[str, str, int, str], ...]  # expected, predicted, count, an example
    below_threshold: float  # share of predictions under the confidence threshold
    threshold: float
    count: int


def score(predictions: Sequence[Prediction], threshold: float, top: int = 8) -> Report:
    """Per-intent precision/recall/F1 and the most frequent confusions."""
    intents = sorted({p.expected for p in predictions} | {p.predicted for p in predictions})
    true_pos: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    support: Counter[str] = Counter()
    confused: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in predictions:
        support[p.expected] += 1
        predicted[p.predicted] += 1
        if p.expected == p.predicted:
            true_pos[p.expected] += 1
        else:
            confused[(p.expected, p.predicted)].append(p.text)
    scores = []
    for intent in intents:
        precision = _ratio(true_pos[intent], predicted[intent])
        recall = _ratio(true_pos[intent], support[intent])
        f1 = _ratio(2 * precision * recall, precision + recall)
        scores.append(IntentQuality(intent, precision, recall, f1, support[intent]))
    in_data = [s for s in scores if s.support]
    ranked = sorted(confused.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    return Report(
        scores=tuple(scores),
        accuracy=_ratio(sum(true_pos.values()), len(predictions)),
        macro_f1=_ratio(sum(s.f1 for s in in_data), len(in_data)),
        confusions=tuple((e, p, len(texts), texts[0]) for (e, p), texts in ranked),
        below_threshold=_ratio(
            sum(p.confidence < threshold for p in predictions), len(predictions)
        ),
        threshold=threshold,
        count=len(predictions),
    )


def format_report(report: Report, title: str) -> str:
    width = max([len("intent"), *(len(s.intent) for s in report.scores)])
    lines = [title, "", f"{'intent':<{width}}  precision  recall     f1  support"]
    for s in report.scores:
        lines.append(
            f"{s.intent:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    lines += [
        "",
        f"accuracy {report.accuracy:.3f}   macro F1 {report.macro_f1:.3f}   "
        f"examples {report.count}   below confidence {report.threshold}: "
        f"{report.below_threshold:.1%}",
        "",
        "Most confused (expected -> predicted, count, an example):",
    ]
    lines += [f"  {e} -> {p}  {n}  {text!r}" for e, p, n, text in report.confusions] or ["  none"]
    return "\n".join(lines)


def folds(examples: Sequence[Example], k: int, seed: int = 7) -> list[list[Example]]:
    """Split into k folds with every intent spread evenly (stratified), reproducibly."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    rng = random.Random(seed)  # noqa: S311 - shuffling, not security
    result: list[list[Example]] = [[] for _ in range(k)]
    dealt = 0
    for intent in sorted(by_intent):
        group = by_intent[intent]
        rng.shuffle(group)
        for example in group:
            result[dealt % k].append(example)
            dealt += 1
    return result


async def cross_validate(
    project: RasaProject,
    env: RasaEnvironment,
    k: int,
    workdir: Path,
    progress: Progress,
) -> list[Prediction]:
    """Train on k-1 folds, classify the held-out fold through a real Rasa server, k times."""
    predictions: list[Prediction] = []
    parts = folds(project.examples(), k)
    for i, test in enumerate(parts):
        progress(f"Fold {i + 1} of {k}: training on {sum(map(len, parts)) - len(test)} examples")
        rest = [example for j, part in enumerate(parts) if j != i for example in part]
        data = workdir / f"fold-{i + 1}" / "data"
        write_data(data / "nlu.yml", rest, project.other_blocks())
        model = train(
            env, project.config, data, workdir / f"fold-{i + 1}" / "model.tar.gz", progress
        )
        predictions += await _predict(env, model, test, workdir, progress)
    return predictions


async def held_out(
    project: RasaProject,
    env: RasaEnvironment,
    test_file: Path,
    models: Path,
    workdir: Path,
    progress: Progress,
) -> list[Prediction]:
    """Classify a separate test file with the model trained on the whole project."""
    text = await asyncio.to_thread(test_file.read_text, encoding="utf-8")
    examples = read_examples(yaml.safe_load(text) or {})
    model = await asyncio.to_thread(project.ensure_model, env, models, progress)
    return await _predict(env, model, examples, workdir, progress)


async def _predict(
    env: RasaEnvironment,
    model: Path,
    examples: Sequence[Example],
    workdir: Path,
    progress: Progress,
) -> list[Prediction]:
    progress(f"Starting a Rasa server to classify {len(examples)} held-out examples")
    async with RasaServer(env, model, log_file=workdir / "rasa.log") as server:
        return await classify_all(server.url, examples)


async def classify_all(url: str, examples: Sequence[Example]) -> list[Prediction]:
    """Each example through `/model/parse`, one at a time so each parse is timed alone."""
    client = RasaClassifier([url], timeout=30.0)
    try:
        results = []
        for example in examples:
            started = time.perf_counter()
            found = await client.classify(example.text)
            seconds = time.perf_counter() - started
            results.append(
                Prediction(example.text, example.intent, found.intent, found.confidence, seconds)
            )
        return results
    finally:
        await client.aclose()


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0
