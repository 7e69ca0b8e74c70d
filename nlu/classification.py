"""What the NLU made of a text: the intent, how sure it is, and the entities found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nlu.errors import NluBadResponse


@dataclass(frozen=True)
class Entity:
    name: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class IntentScore:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[IntentScore, ...] = ()
    language: str | None = None  # the language the text is written in, when clear

    def entity(self, name: str) -> str | None:
        """The first value found for an entity, if any."""
        return next((e.value for e in self.entities if e.name == name), None)

    @classmethod
    def from_rasa(cls, payload: Any) -> Classification:
        """Read a Rasa `/model/parse` answer; raises NluBadResponse if it is not one."""
        try:
            intent = payload["intent"]
            name, confidence = intent["name"], float(intent["confidence"])
            if not isinstance(name, str) or not name:
                raise NluBadResponse("the parse has no intent name")
            entities: dict[tuple[str, str], Entity] = {}
            for item in payload.get("entities") or ():
                entity = Entity(str(item["entity"]), str(item["value"]), item["start"], item["end"])
                entities.setdefault((entity.name, entity.value), entity)
            ranking = tuple(
                IntentScore(str(item["name"]), float(item["confidence"]))
                for item in payload.get("intent_ranking") or ()
            )
            language = payload.get("language")
            if language is not None and not isinstance(language, str):
                raise NluBadResponse(f"the parse's language is not a code: {language!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise NluBadResponse(f"not a Rasa parse result: {exc!r}") from exc
        in_order = tuple(sorted(entities.values(), key=lambda e: (e.start, e.end)))
        return cls(name, confidence, in_order, ranking, language or None)
