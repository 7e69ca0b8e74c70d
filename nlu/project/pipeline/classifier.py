"""An intent classifier over sparse n-grams and dense sentence vectors together.

Measured on Banking77 and CLINC150, a linear model over TF-IDF-weighted n-gram counts
plus a frozen sentence encoder matched fine-tuned BERT-large, where DIET over the same
features did worse and trained for minutes: n-grams carry the words an intent is named
by, the encoder carries paraphrases and other languages. Each encoder in the pipeline
gets its own head (trained on every example, which both encoders read); a message is
scored by the head of the encoder that read it."""

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

_FILE = "linear.npz"


@dataclass(frozen=True)
class Head:
    """One encoder's logistic regression: weights for the n-gram block and for the
    sentence vector, transposed and laid out for scoring (a product with a strided view
    copies it on every call)."""

    encoder: str
    sparse: np.ndarray
    dense: np.ndarray
    intercept: np.ndarray

    @classmethod
    def of(cls, encoder: str, coef: np.ndarray, intercept: np.ndarray, width: int) -> Head:
        sparse, dense = (
            np.ascontiguousarray(block.T) for block in (coef[:, :width], coef[:, width:])
        )
        return cls(encoder, sparse, dense, intercept)

    def coef(self) -> np.ndarray:
        return np.hstack([self.sparse.T, self.dense.T])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression on [tf-idf(n-gram counts) | dense_weight * sentence vector],
    each block of unit length. What it learns is kept as plain arrays (no pickle)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0, "dense_weight": 5.0, "max_iter": 1000, "ranking_length": 10}

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
        for encoder in _encoders(examples[0]):
            dense = self._scaled(_dense(examples, encoder))
            model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"])
            model.fit(scipy.sparse.hstack([weighted, dense], format="csr"), labels)
            self.intents = model.classes_
            self.heads.append(Head.of(encoder, model.coef_, model.intercept_, len(self.idf)))
        stored = {
            "intents": self.intents,
            "idf": self.idf,
            "encoders": [h.encoder for h in self.heads],
        }
        for i, head in enumerate(self.heads):
            stored |= {f"coef{i}": head.coef(), f"intercept{i}": head.intercept}
        with self.model_storage.write_to(self.resource) as directory:
            np.savez(directory / _FILE, **stored)
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
        try:
            with model_storage.read_from(resource) as directory:
                stored = np.load(directory / _FILE, allow_pickle=False)
                component.intents, component.idf = stored["intents"], stored["idf"]
                component.heads = [
                    Head.of(
                        str(name), stored[f"coef{i}"], stored[f"intercept{i}"], len(component.idf)
                    )
                    for i, name in enumerate(stored["encoders"])
                ]
        except ValueError:  # trained on no examples: it answers nothing
            pass
        return component

    def _weighted(self, counts: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
        return normalize(counts.log1p().multiply(self.idf).tocsr())

    def _scaled(self, dense: np.ndarray) -> np.ndarray:
        return np.asarray(self.config["dense_weight"] * normalize(dense))

    def probabilities(self, messages: list[Message], head: Head) -> np.ndarray:
        """The head's multinomial softmax (a sigmoid pair when there are two intents)."""
        scores = (
            self._weighted(_counts(messages)) @ head.sparse
            + self._scaled(_dense(messages, head.encoder)) @ head.dense
            + head.intercept
        )
        if len(self.intents) == 2:
            scores = np.hstack([np.zeros_like(scores), scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return np.asarray(scores / scores.sum(axis=1, keepdims=True))

    def process(self, messages: list[Message]) -> list[Message]:
        for head in self.heads:
            read = [m for m in messages if _reader(m) == head.encoder]
            if not read:
                continue
            for message, row in zip(read, self.probabilities(read, head), strict=True):
                order = np.argsort(-row)[: self.config["ranking_length"]]
                ranking = [
                    {"name": str(self.intents[i]), "confidence": float(row[i])} for i in order
                ]
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set("intent_ranking", ranking, add_to_output=True)
        return messages


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
