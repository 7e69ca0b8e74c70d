"""Which language a message is written in, as the parse's `language` field, so that
routing rules can use the language the customer writes in (a channel may not say)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LANGUAGE = "language"
ENGLISH = "en"


def in_english(message: Message) -> bool:
    """Whether the detector was sure the message is English."""
    return bool(message.get(LANGUAGE) == ENGLISH)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LanguageDetector(GraphComponent):
    """py3langid's model (it ships inside the package), limited to the languages a
    company expects: a guess among 97 languages on three words is often exotic and wrong.
    Below `min_probability` the field is left out rather than guessed ("hi", "ok")."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["py3langid"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"languages": ["en", "de", "es", "fr", "it", "nl", "pt"], "min_probability": 0.9}

    def __init__(self, config: dict[str, Any]) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.min_probability = float(config["min_probability"])
        self.identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        self.identifier.set_languages(list(config["languages"]))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                language, probability = self.identifier.classify(text)
                if probability >= self.min_probability:
                    message.set(LANGUAGE, str(language), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples need no language: nothing reads it there."""
        return training_data
