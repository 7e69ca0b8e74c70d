"""The HTTP client for Rasa's `/model/parse`: text in, Classification out, or a typed error."""

from __future__ import annotations

import asyncio
import itertools
import json
import string
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from nlu.classification import Classification
from nlu.errors import NluBadResponse, NluTimeout, NluUnavailable, NothingToClassify

MAX_CHARS = 1000


def prepare(text: str) -> str:
    """The part of a customer's text that is safe to send to Rasa.

    Rasa treats text starting with "/" as an intent name and answers with confidence
    1.0, and classifies empty text as a greeting; neither must reach it. Very long
    text is cut: the first thousand characters say what a message is about."""
    cleaned = text.lstrip("/" + string.whitespace).rstrip()[:MAX_CHARS]
    if not cleaned:
        raise NothingToClassify("no text to classify")
    return cleaned


class Circuit:
    """After a failure, callers are refused at once for `pause` seconds, then one call
    tries again while the others are still refused: a hanging server costs one timeout,
    not one per caller."""

    def __init__(self, pause: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.pause = pause
        self.clock = clock
        self._open_until: float | None = None
        self._trying = False

    def allow(self) -> bool:
        """Whether a call may go ahead now (the caller then reports how it went)."""
        if self._open_until is None:
            return True
        if self._trying or self.clock() < self._open_until:
            return False
        self._trying = True
        return True

    def succeeded(self) -> None:
        self._open_until, self._trying = None, False

    def failed(self) -> None:
        self._open_until, self._trying = self.clock() + self.pause, False


class RasaClassifier:
    """Classifies text with one or more Rasa servers, trying the next on failure; when
    none answers, the circuit opens for a few seconds.

    A Rasa server parses one message at a time, so at most `in_flight` requests per
    server are sent and the rest wait here, each for at most `timeout`: a burst of new
    customers then waits in a queue we can see, and one that waited too long is routed
    without the NLU while the server, busy but answering, keeps the circuit closed
    (sent all at once, they queued inside Rasa, timed out there and opened it for
    everyone after them). Four: with two, the server sat idle whenever the app was busy
    elsewhere when an answer came back (32 new customers at once served at 0.96-1.02x
    of Rasa REST's rate against 1.01-1.10x with eight); with eight, about one parse in
    seven waited inside Rasa a whole extra round of eight on its keep-alive connection
    (round trip p95 ~2x p50), the tail of those 32 customers' wait. With four, in runs
    beside eight (the bench, its rounds taking turns with Rasa REST): the same rate
    (1.03-1.05x Rasa REST's), at 0.97x and 1.00x its p95 against 1.03-1.10x.

    Each URL may carry `?token=...` for a server started with `--auth-token`.

    The HTTP client is aiohttp's: a parse through it took 0.14 ms of our CPU against
    httpx's 0.77 ms (measured on the development machine), and every new customer needs
    one on the way to the bot's first reply."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 3.0,
        in_flight: int = 4,
        circuit: Circuit | None = None,
    ) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.urls = [url.rstrip("/") for url in urls]
        self.timeout = timeout
        self.circuit = circuit or Circuit(pause=10.0)
        self._slots = asyncio.Semaphore(in_flight * len(self.urls))
        self._next = itertools.cycle(range(len(self.urls)))
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session, made when first used: aiohttp's belongs to the running loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, connect=min(self.timeout, 1.0)),
                connector=aiohttp.TCPConnector(limit=64),
            )
        return self._session

    async def classify(self, text: str) -> Classification:
        """Raises NothingToClassify for text with nothing to classify, NluUnavailable
        when no server answers (or lately none did), NluBadResponse for nonsense."""
        body = {"text": prepare(text)}
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise NluTimeout(f"the NLU was busy for {self.timeout:g} s") from None
        try:
            return await self._classify(body)
        finally:
            self._slots.release()

    async def _classify(self, body: dict[str, str]) -> Classification:
        if not self.circuit.allow():
            raise NluUnavailable("no Rasa server answered lately; trying again shortly")
        try:
            classification = await self._parse(body)
        except NluUnavailable:
            self.circuit.failed()
            raise
        except BaseException:
            self.circuit.succeeded()  # it answered, if badly, or we stopped asking
            raise
        self.circuit.succeeded()
        return classification

    async def _parse(self, body: dict[str, str]) -> Classification:
        first = next(self._next)
        failures: list[str] = []
        for i in range(len(self.urls)):
            url = self.urls[(first + i) % len(self.urls)]
            try:
                status, content = await self._call("POST", url, "/model/parse", body)
            except TimeoutError:
                failures.append(f"{_safe(url)}: timed out")
                continue
            except aiohttp.ClientConnectorError:
                failures.append(f"{_safe(url)}: cannot connect")
                continue
            except aiohttp.ClientError as exc:
                failures.append(f"{_safe(url)}: {type(exc).__name__}")
                continue
            if status >= 500:
                failures.append(f"{_safe(url)}: HTTP {status}")
                continue
            if status != 200:
                raise NluBadResponse(f"{_safe(url)} answered HTTP {status}")
            try:
                payload = json.loads(content)
            except ValueError as exc:
                raise NluBadResponse(f"{_safe(url)} answered with invalid JSON") from exc
            return Classification.from_rasa(payload)
        error = NluTimeout if all(f.endswith("timed out") for f in failures) else NluUnavailable
        raise error("no Rasa server answered: " + "; ".join(failures))

    async def ready(self) -> bool:
        """Whether any server has a model loaded."""
        for url in self.urls:
            try:
                status, content = await self._call("GET", url, "/status")
                if status == 200 and json.loads(content).get("model_file"):
                    return True
            except (TimeoutError, aiohttp.ClientError, ValueError):
                continue
        return False

    async def _call(
        self, method: str, url: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """The status and body of one request; raises TimeoutError or aiohttp's
        ClientError when no answer came."""
        async with self._http().request(method, endpoint(url, path), json=body) as response:
            return response.status, await response.read()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def endpoint(url: str, path: str) -> str:
    """`http://h:5005?token=t` + `/model/parse` -> `http://h:5005/model/parse?token=t`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


def _safe(url: str) -> str:
    """A URL fit for logs and errors: without its token."""
    return urlunsplit(urlsplit(url)._replace(query=""))
