"""Fine-tuning the English encoder's last layer on the training examples, so that examples
of one intent lie closer together and apart from the others' (supervised contrastive
loss, Khosla et al. 2020): the intents an admin names, rather than the general
similarity the encoder was trained for.

Each step takes `intents` intents at random and `per_intent` examples of each, and moves
the last layer's weights so that every example's nearest neighbours in the batch, by
cosine at `temperature`, are its own intent's. The bottom five layers stay as shipped, so
their output is computed once per example; a step costs a sixth of a forward pass and its
gradient. Measured on Banking77 (scored on 1,003 held-out train messages, sklearn over the
same features as the classifier): 10 examples per intent 83.4% -> 84.0-84.3% over four
seeds; all 9,000 examples 91.8% -> 92.1%."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from pipeline.encoder import BATCH
from pipeline.minilm import LAST_PREFIX, WIDTH, bottom, top


@dataclass(frozen=True)
class Settings:
    steps: int
    intents: int  # per step
    per_intent: int  # examples of each intent per step
    learning_rate: float
    temperature: float
    seed: int


def tuned(
    weights: dict[str, Any],
    tokenize: Callable[[list[str]], tuple[np.ndarray, np.ndarray]],
    texts: Sequence[str],
    labels: Sequence[str],
    settings: Settings,
) -> dict[str, np.ndarray]:
    """The last layer's weights after tuning on these examples (name -> array)."""
    rng = np.random.default_rng(settings.seed)
    tf.random.set_seed(settings.seed)
    rows = _bottom_rows(weights, tokenize, texts)
    named = np.array(labels)
    by_intent = [np.flatnonzero(named == intent) for intent in sorted(set(labels))]
    trained = {
        name: tf.Variable(value) for name, value in weights.items() if name.startswith(LAST_PREFIX)
    }
    fixed = {name: value for name, value in weights.items() if name not in trained}
    optimizer = tf.keras.optimizers.Adam(settings.learning_rate)
    step = tf.function(
        lambda x, mask, intent: _step(
            fixed | trained, trained, optimizer, x, mask, intent, settings.temperature
        ),
        input_signature=[
            tf.TensorSpec([None, None, WIDTH]),
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
        ],
        autograph=False,  # plain Python at trace time: no tensor-dependent control flow
    )
    intents = min(settings.intents, len(by_intent))
    for _ in range(settings.steps):
        chosen = rng.choice(len(by_intent), intents, replace=False)
        batch = np.concatenate(
            [
                rng.choice(
                    by_intent[i],
                    settings.per_intent,
                    replace=len(by_intent[i]) < settings.per_intent,
                )
                for i in chosen
            ]
        )
        x, mask = _padded([rows[i] for i in batch])
        step(x, mask, np.repeat(chosen, settings.per_intent).astype(np.int32))
    return {name: variable.numpy() for name, variable in trained.items()}


def _step(
    weights: dict[str, Any],
    trained: dict[str, tf.Variable],
    optimizer: Any,
    x: Any,
    mask: Any,
    intent: Any,
    temperature: float,
) -> Any:
    variables = list(trained.values())
    with tf.GradientTape() as tape:
        unit = top(weights, tf.reshape(x, [-1, WIDTH]), mask)
        loss = _contrastive(unit, intent, temperature)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss


def _contrastive(unit: Any, intent: Any, temperature: float) -> Any:
    """For each example, the mean over the batch's other examples of its intent of the log
    share it gives them among all the others (by cosine over temperature), negated."""
    others = 1.0 - tf.eye(tf.shape(unit)[0])
    similarity = tf.matmul(unit, unit, transpose_b=True) / temperature - (1.0 - others) * 1e9
    log_share = similarity - tf.reduce_logsumexp(similarity, axis=1, keepdims=True)
    same = tf.cast(tf.equal(intent[:, None], intent[None, :]), tf.float32) * others
    per_example = tf.reduce_sum(log_share * same, axis=1) / tf.maximum(
        tf.reduce_sum(same, axis=1), 1.0
    )
    return -tf.reduce_mean(per_example)


def _bottom_rows(
    weights: dict[str, Any],
    tokenize: Callable[[list[str]], tuple[np.ndarray, np.ndarray]],
    texts: Sequence[str],
) -> list[np.ndarray]:
    """Each text's tokens after the bottom layers (tokens x WIDTH), padding dropped."""
    run = tf.function(
        lambda ids, mask: bottom(weights, ids, mask),
        input_signature=[tf.TensorSpec([None, None], tf.int32)] * 2,
    )
    rows = []
    for start in range(0, len(texts), BATCH):
        ids, mask = tokenize(list(texts[start : start + BATCH]))
        out = np.asarray(run(ids, mask)).reshape(len(ids), -1, WIDTH)
        rows += [tokens[real == 1] for tokens, real in zip(out, mask, strict=True)]
    return rows


def _padded(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    length = max(len(r) for r in rows)
    x = np.zeros((len(rows), length, WIDTH), np.float32)
    mask = np.zeros((len(rows), length), np.int32)
    for i, r in enumerate(rows):
        x[i, : len(r)], mask[i, : len(r)] = r, 1
    return x, mask
