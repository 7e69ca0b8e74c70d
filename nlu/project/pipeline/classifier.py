"""An intent classifier over sparse n-grams and dense sentence vectors together.

Measured on Banking77 and CLINC150, a linear model over TF-IDF-weighted n-gram counts
plus a frozen sentence encoder matched fine-tuned BERT-large, where DIET over the same
features did worse and trained for minutes: n-grams carry the words an intent is named
by, the encoder carries paraphrases and other languages. Each encoder in the pipeline
gets its own head (trained on every example, which both encoders read); a message is
scored by the head of the encoder that read it.

A confidence is the head's probability, lowered for a message less familiar than most
training examples are to each other: times (familiarity / typical) ** 2 where below 1,
familiarity being the cosine of the message's sentence vector to the nearest training
example's and typical the 10th percentile of that cosine among the training examples
(each to its nearest other). So most messages keep their probability, and one unlike
anything trained, of which the probability alone can be sure, is asked to clarify. On
CLINC150's validation split, at the threshold that asks 2% of in-scope messages to
clarify, 86% of its 100 out-of-scope messages were caught against 77% on probability
alone (percentile and power chosen there: 5th, 10th, 25th, 50th and 1, 2, 4 gave 81-88%).
The order of intents is the head's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from pipeline.storage import Fingerprinted, save, saved


@dataclass(frozen=True)
class Head:
    """One encoder's logistic regression: weights for the n-gram block and for the
    sentence vector, transposed and laid out for scoring (a product with a strided view
    copies it on every call)."""

    encoder: str
    sparse: np.ndarray
    dense: np.ndarray
    intercept: np.ndarray
    known: np.ndarray  # the training examples' unit sentence vectors, one per column
    starts: np.ndarray  # intent i's examples are known's columns starts[i]:starts[i + 1]
    typical: float  # how familiar most training examples are to the others

    @classmethod
    def of(
        cls,
        encoder: str,
        coef: np.ndarray,
        intercept: np.ndarray,
        width: int,
        known: np.ndarray,
        starts: np.ndarray,
        typical: float,
    ) -> Head:
        sparse, dense = (
            np.ascontiguousarray(block.T) for block in (coef[:, :width], coef[:, width:])
        )
        known = np.ascontiguousarray(known)
        return cls(encoder, sparse, dense, intercept, known, starts, typical)

    def familiar(self, unit: np.ndarray, best: np.ndarray) -> np.ndarray:
        """Per message (rows of unit sentence vectors, and each one's most probable intent):
        its cosine to the nearest training example over the typical one, at most 1. A
        message as close as the typical cosine to an example of its most probable intent
        is at 1 whatever the rest: only the others are compared with every example, which
        with 10,000 examples cost ~4 ms a parse."""
        nearest = np.empty(len(unit))
        for row, (vector, intent) in enumerate(zip(unit, best, strict=True)):
            own = vector @ self.known[:, self.starts[intent] : self.starts[intent + 1]]
            nearest[row] = own.max(initial=-1.0)
            if nearest[row] < self.typical:
                nearest[row] = (vector @ self.known).max()
        return np.asarray(np.clip(nearest / max(self.typical, 1e-9), 0.0, 1.0))

    def coef(self) -> np.ndarray:
        return np.hstack([self.sparse.T, self.dense.T])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(Fingerprinted, IntentClassifier, GraphComponent):
    """Logistic regression on [tf-idf(n-gram counts) | dense_weight * sentence vector],
    each block of unit length; its probabilities times familiarity ** familiarity_power
    (0: none), the typical familiarity taken at familiar_percentile. What it learns is
    kept as plain arrays (no pickle)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 20.0,
            "dense_weight": 3.0,
            "familiar_percentile": 10.0,
            "familiarity_power": 2.0,
            "max_iter": 1000,
            "ranking_length": 10,
        }

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.intents = np.array([], dtype=str)
        self.idf = np.array([])
        self.heads: list[Head] = []

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self.resource
        counts = _counts(examples)
        self.idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
        weighted = self._weighted(counts)
        labels = [e.get(INTENT) for e in examples]
        # the intents in the heads' order (sklearn's classes_), each example's among them,
        # and the examples grouped by intent for `Head.familiar`
        self.intents, owners = np.unique(labels, return_inverse=True)
        order = np.argsort(owners, kind="stable")
        starts = np.searchsorted(owners[order], np.arange(len(self.intents) + 1))
        for encoder in _encoders(examples[0]):
            unit = normalize(_dense(examples, encoder))
            model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"])
            model.fit(
                scipy.sparse.hstack([weighted, self.config["dense_weight"] * unit], format="csr"),
                labels,
            )
            typical = _typical(unit, self.config["familiar_percentile"])
            self.heads.append(
                Head.of(
                    encoder,
                    model.coef_,
                    model.intercept_,
                    len(self.idf),
                    unit[order].T,
                    starts,
                    typical,
                )
            )
        stored = {
            "intents": self.intents,
            "idf": self.idf,
            "encoders": [h.encoder for h in self.heads],
            "starts": starts,
        }
        for i, head in enumerate(self.heads):
            stored |= {f"coef{i}": head.coef(), f"intercept{i}": head.intercept}
            stored |= {f"known{i}": head.known, f"typical{i}": np.array(head.typical)}
        save(self.model_storage, self.resource, stored)
        return self.resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        component = cls(config, model_storage, resource)
        stored = saved(model_storage, resource)
        if stored:  # else trained on no examples: it answers nothing
            component.intents, component.idf = stored["intents"], stored["idf"]
            component.heads = [
                Head.of(
                    str(name),
                    stored[f"coef{i}"],
                    stored[f"intercept{i}"],
                    len(component.idf),
                    stored[f"known{i}"],
                    stored["starts"],
                    float(stored[f"typical{i}"]),
                )
                for i, name in enumerate(stored["encoders"])
            ]
        return component

    def _weighted(self, counts: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
        return normalize(counts.log1p().multiply(self.idf).tocsr())

    def confidences(self, messages: list[Message], head: Head) -> np.ndarray:
        """The head's multinomial softmax (a sigmoid pair when there are two intents),
        times each message's familiarity to the power set."""
        unit = normalize(_dense(messages, head.encoder))
        scores = (
            self._weighted(_counts(messages)) @ head.sparse
            + self.config["dense_weight"] * unit @ head.dense
            + head.intercept
        )
        if len(self.intents) == 2:
            scores = np.hstack([np.zeros_like(scores), scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scale = head.familiar(unit, scores.argmax(axis=1)) ** self.config["familiarity_power"]
        return np.asarray(scores / scores.sum(axis=1, keepdims=True) * scale[:, None])

    def process(self, messages: list[Message]) -> list[Message]:
        for head in self.heads:
            read = [m for m in messages if _reader(m) == head.encoder]
            if not read:
                continue
            for message, row in zip(read, self.confidences(read, head), strict=True):
                order = np.argsort(-row)[: self.config["ranking_length"]]
                ranking = [
                    {"name": str(self.intents[i]), "confidence": float(row[i])} for i in order
                ]
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set("intent_ranking", ranking, add_to_output=True)
        return messages


def _typical(unit: np.ndarray, percentile: float) -> float:
    """The percentile of each training example's cosine to its nearest other example (0
    with fewer than two), computed in blocks: the whole matrix of a large set is GBs."""
    if len(unit) < 2:
        return 0.0
    nearest = np.empty(len(unit))
    for start in range(0, len(unit), 2048):
        block = unit[start : start + 2048] @ unit.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -1.0
        nearest[start : start + len(block)] = block.max(axis=1)
    return float(np.percentile(nearest, percentile))


def _sentence(message: Message) -> list[Features]:
    """The featurizers' sentence rows for the text, in pipeline order. Read directly:
    Rasa's get_*_features also copies and stacks the sequence features, which cost more
    than classifying."""
    return [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]


def _encoders(message: Message) -> list[str]:
    return [f.origin for f in _sentence(message) if f.is_dense()]


def _reader(message: Message) -> str | None:
    """The encoder that read this message at parse time (none for an empty text, which
    reached no featurizer)."""
    rows = _sentence(message)
    dense = [f.origin for f in rows if f.is_dense()]
    return dense[0] if dense and any(f.is_sparse() for f in rows) else None


def _counts(messages: list[Message]) -> scipy.sparse.csr_matrix:
    """The n-gram featurizers' sentence rows side by side, one row per message."""
    rows = [
        scipy.sparse.hstack([f.features for f in _sentence(m) if f.is_sparse()]) for m in messages
    ]
    return scipy.sparse.vstack(rows, format="csr")


def _dense(messages: list[Message], encoder: str) -> np.ndarray:
    """Each message's sentence vector from this encoder."""
    return np.vstack(
        [
            np.asarray(f.features).reshape(1, -1)
            for m in messages
            for f in _sentence(m)
            if f.origin == encoder
        ]
    )
