"""An intent classifier over sparse n-grams and dense sentence vectors together.

Measured on Banking77 and CLINC150, a linear model over TF-IDF-weighted n-gram counts
plus a frozen sentence encoder matched fine-tuned BERT-large, where DIET over the same
features did worse and trained for minutes: n-grams carry the words an intent is named
by, the encoder carries paraphrases and other languages."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

_FILE = "linear.npz"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression on [tf-idf(n-gram counts) | dense_weight * sentence vector],
    each block of unit length. What it learns is kept as plain arrays (no pickle)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 20.0, "dense_weight": 3.0, "max_iter": 1000, "ranking_length": 10}

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.intents = np.array([], dtype=str)
        self.idf = np.array([])
        self.coef = np.zeros((0, 0))
        self.intercept = np.array([])

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
        counts, dense = _features(examples)
        self.idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"])
        model.fit(self._matrix(counts, dense), [e.get(INTENT) for e in examples])
        self.intents, self.intercept = model.classes_, model.intercept_
        self.coef = model.coef_
        with self.model_storage.write_to(self.resource) as directory:
            np.savez(
                directory / _FILE,
                intents=self.intents, idf=self.idf, coef=self.coef, intercept=self.intercept,
            )  # fmt: skip
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
                component.coef, component.intercept = stored["coef"], stored["intercept"]
        except ValueError:  # trained on no examples: it answers nothing
            pass
        return component

    def _matrix(self, counts: scipy.sparse.csr_matrix, dense: np.ndarray) -> Any:
        weighted = normalize(counts.log1p().multiply(self.idf).tocsr())
        vectors = self.config["dense_weight"] * normalize(dense)
        return scipy.sparse.hstack([weighted, scipy.sparse.csr_matrix(vectors)]).tocsr()

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        """The multinomial model's softmax (a sigmoid pair when there are two intents)."""
        counts, dense = _features(messages)
        scores = self._matrix(counts, dense) @ self.coef.T + self.intercept
        if len(self.intents) == 2:
            scores = np.hstack([np.zeros_like(scores), scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        featurized = [m for m in messages if _has_features(m)]
        if not len(self.intents) or not featurized:
            return messages
        for message, row in zip(featurized, self.probabilities(featurized), strict=True):
            order = np.argsort(-row)[: self.config["ranking_length"]]
            ranking = [{"name": str(self.intents[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages


def _has_features(message: Message) -> bool:
    """Text that reached the featurizers (an empty parse has none)."""
    return all(found[1] is not None for found in _sentence_features(message))


def _sentence_features(message: Message) -> tuple[Any, Any]:
    return message.get_sparse_features(TEXT), message.get_dense_features(TEXT)


def _features(messages: list[Message]) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """The sentence-level sparse (all n-gram featurizers side by side) and dense rows."""
    sparse, dense = [], []
    for message in messages:
        sparse_sentence, dense_sentence = (found[1] for found in _sentence_features(message))
        if sparse_sentence is None or dense_sentence is None:
            raise ValueError("LinearIntentClassifier needs sparse and dense sentence features")
        sparse.append(scipy.sparse.csr_matrix(sparse_sentence.features))
        dense.append(np.asarray(dense_sentence.features).reshape(1, -1))
    return scipy.sparse.vstack(sparse).tocsr(), np.vstack(dense)
