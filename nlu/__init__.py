"""NLU: text in, Classification out, through a Rasa server; plus the Rasa project and
the tools to train, serve and evaluate it."""

from nlu.classification import Classification, Entity, IntentScore
from nlu.client import RasaClassifier
from nlu.errors import (
    NluBadResponse,
    NluError,
    NluTimeout,
    NluUnavailable,
    NothingToClassify,
    RasaSetupError,
)

__all__ = [
    "Classification",
    "Entity",
    "IntentScore",
    "NluBadResponse",
    "NluError",
    "NluTimeout",
    "NluUnavailable",
    "NothingToClassify",
    "RasaClassifier",
    "RasaSetupError",
]
