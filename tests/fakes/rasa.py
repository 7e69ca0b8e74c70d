"""A Rasa server double on 127.0.0.1 that speaks Rasa 3.6's HTTP API (`POST /model/parse`,
`GET /status`), answering from a table of what the shipped model makes of test texts."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from nlu.training import RasaProject

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

RANKED = 10  # Rasa's intent_ranking lists the top ten


@dataclass(frozen=True)
class Meaning:
    """The intent and confidence the model gives a text, and the intents it ranks next
    (they choose the topics a clarifying question offers)."""

    intent: str
    confidence: float
    runners_up: tuple[str, ...] = ()


def meaning(intent: str, confidence: float, *runners_up: str) -> Meaning:
    return Meaning(intent, confidence, runners_up)


# Each text the tests send through the app with what the shipped model answers
# (checked against the real server; confidences rounded, three runners-up in its
# order, where the tests read them). A test that sends a new text adds it here.
MEANINGS: dict[str, Meaning] = {
    "hi": meaning("greet", 0.997),
    "hello": meaning("greet", 1.0),
    "hello there": meaning("greet", 1.0),
    "I was charged twice for my subscription this month": meaning("billing", 0.998),
    "I have another question about a payment on my invoice": meaning("billing", 1.0),
    "where is my order 12345": meaning("order_status", 0.995),
    "the app keeps crashing every time I open my basket": meaning("technical_support", 1.0),
    # Words that name no topic, which tests send as filler: the bot greets, or offers
    # the topics ranked highest.
    "first": meaning("greet", 0.6, "goodbye", "out_of_scope", "human_handoff"),
    "first, a good one": meaning("goodbye", 0.959, "out_of_scope", "greet", "complaint"),
    "and the connection still works": meaning("technical_support", 0.364, "goodbye", "account_access", "order_status"),
}  # fmt: skip


class FakeRasa:
    """A bare ASGI app, cheap enough for a benchmark to run as well. A text missing from
    the table is answered 500 and noted in `unknown` (the `fake_rasa` fixture then fails
    the test), unless `otherwise` is the answer for any text."""

    def __init__(
        self,
        meanings: Mapping[str, Meaning] = MEANINGS,
        *,
        otherwise: Meaning | None = None,
        project: RasaProject | None = None,
    ) -> None:
        project = project or RasaProject()
        self.meanings = dict(meanings)
        self.otherwise = otherwise
        self.intents = project.intents()
        self.regexes = shipped_regexes(project)
        self.asked: list[str] = []  # every text parsed, in order
        self.unknown: list[str] = []  # texts the table did not know
        self.url = ""  # set once it is served

    def parse(self, text: str) -> dict[str, Any] | None:
        """A `/model/parse` answer in Rasa 3.6's shape; None for a text not in the table."""
        self.asked.append(text)
        found = self.meaning_of(text)
        if found is None:
            self.unknown.append(text)
            return None
        return {
            "text": text,
            "intent": {"name": found.intent, "confidence": found.confidence},
            "entities": self.entities(text),
            "intent_ranking": self.ranking(found),
        }

    def meaning_of(self, text: str) -> Meaning | None:
        """The table's answer for exactly this text, else `otherwise`."""
        return self.meanings.get(text, self.otherwise)

    def entities(self, text: str) -> list[dict[str, Any]]:
        """What Rasa's RegexEntityExtractor finds with the shipped regexes."""
        return [
            {"entity": name, "start": match.start(), "end": match.end(),
             "value": match.group(), "extractor": "RegexEntityExtractor"}
            for name, pattern in self.regexes
            for match in pattern.finditer(text)
        ]  # fmt: skip

    def ranking(self, found: Meaning) -> list[dict[str, Any]]:
        """The intent first, then the runners-up and the model's other intents, sharing
        what confidence is left in decreasing amounts."""
        rest = [i for i in (*found.runners_up, *self.intents) if i != found.intent]
        others = list(dict.fromkeys(rest))[: RANKED - 1]
        weights = [2.0**-n for n in range(1, len(others) + 1)]
        left = 1.0 - found.confidence
        shares = [left * w / sum(weights) for w in weights]
        ranking = [{"name": found.intent, "confidence": found.confidence}]
        return ranking + [{"name": n, "confidence": s} for n, s in zip(others, shares, strict=True)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            chunk = await receive()
            body += chunk.get("body", b"")
            if not chunk.get("more_body"):
                break
        status, answer = self.answer(scope["method"], scope["path"], body)
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if (method, path) == ("GET", "/status"):
            return 200, {"model_file": "fake-rasa.tar.gz", "model_id": "fake",
                         "num_active_training_jobs": 0}  # fmt: skip
        if (method, path) != ("POST", "/model/parse"):
            return 404, {"status": "failure", "reason": "NotFound"}
        try:
            text = json.loads(body)["text"]
        except (ValueError, KeyError, TypeError):
            return 400, {"status": "failure", "reason": "BadRequest"}
        parsed = self.parse(str(text))
        if parsed is None:
            reason = f"the Rasa double has no meaning for {text!r}: add it to tests/fakes/rasa.py"
            return 500, {"status": "failure", "reason": reason}
        return 200, parsed


def shipped_regexes(project: RasaProject) -> list[tuple[str, re.Pattern[str]]]:
    """The training data's regexes for entities, as the RegexEntityExtractor uses them."""
    entities = set(project.entities())
    return [
        (str(block["regex"]), re.compile(line.removeprefix("- "), re.IGNORECASE))
        for block in project.other_blocks()
        if block.get("regex") in entities
        for line in str(block["examples"]).splitlines()
        if line.strip()
    ]
