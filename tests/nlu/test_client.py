import asyncio
import json

import httpx
import pytest

from nlu import (
    NluBadResponse,
    NluError,
    NluTimeout,
    NluUnavailable,
    NothingToClassify,
    RasaClassifier,
)
from nlu.client import MAX_CHARS, Circuit, prepare

PARSE = {
    "text": "where is 12345",
    "intent": {"name": "order_status", "confidence": 0.91},
    "entities": [{"entity": "order_id", "value": "12345", "start": 9, "end": 14}],
    "intent_ranking": [{"name": "order_status", "confidence": 0.91}],
}


def rasa(handler: object) -> httpx.MockTransport:
    return httpx.MockTransport(handler)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("  where is my order  ", "where is my order"),
        ("/greet", "greet"),
        ("// /restart now", "restart now"),
        ("x" * (MAX_CHARS + 50), "x" * MAX_CHARS),
    ],
)
def test_prepare_guards_what_reaches_rasa(text: str, sent: str) -> None:
    assert prepare(text) == sent


@pytest.mark.parametrize("text", ["", "   ", "/", " // "])
def test_nothing_to_classify_is_an_nlu_error(text: str) -> None:
    with pytest.raises(NothingToClassify, match="no text") as caught:
        prepare(text)
    assert isinstance(caught.value, NluError)


async def test_classify_posts_the_guarded_text_with_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PARSE)

    client = RasaClassifier(["http://rasa:5005/?token=s3cret"], transport=rasa(handler))
    result = await client.classify("/where is 12345")
    await client.aclose()
    assert result.intent == "order_status"
    assert result.entity("order_id") == "12345"
    assert str(seen[0].url) == "http://rasa:5005/model/parse?token=s3cret"
    assert json.loads(seen[0].content) == {"text": "where is 12345"}


async def test_a_failing_server_is_skipped_for_the_next() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down":
            raise httpx.ConnectError("refused", request=request)
        if request.url.host == "broken":
            return httpx.Response(500, text="Internal Server Error")
        return httpx.Response(200, json=PARSE)

    client = RasaClassifier(["http://down", "http://broken", "http://up"], transport=rasa(handler))
    results = [await client.classify("where is 12345") for _ in range(3)]
    await client.aclose()
    assert {r.intent for r in results} == {"order_status"}


async def test_all_servers_down_is_unavailable_not_an_empty_intent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = RasaClassifier(["http://a?token=hidden", "http://b"], transport=rasa(handler))
    with pytest.raises(NluUnavailable) as caught:
        await client.classify("hello")
    await client.aclose()
    assert "hidden" not in str(caught.value)
    assert not isinstance(caught.value, NluTimeout)


async def test_timeouts_are_their_own_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = RasaClassifier(["http://slow"], transport=rasa(handler))
    with pytest.raises(NluTimeout):
        await client.classify("hello")
    await client.aclose()


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"intent": {"name": None, "confidence": 0.0}}),
        httpx.Response(200, json={"entities": []}),
        httpx.Response(401, json={"message": "unauthorized"}),
    ],
)
async def test_nonsense_answers_are_bad_responses(response: httpx.Response) -> None:
    client = RasaClassifier(["http://odd"], transport=rasa(lambda request: response))
    with pytest.raises(NluBadResponse):
        await client.classify("hello")
    await client.aclose()


async def test_ready_needs_a_loaded_model() -> None:
    answers = iter([{"model_file": None}, {"model_file": "models/nlu.tar.gz"}])
    client = RasaClassifier(
        ["http://rasa"], transport=rasa(lambda request: httpx.Response(200, json=next(answers)))
    )
    assert not await client.ready()
    assert await client.ready()
    await client.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_hanging_server_costs_one_timeout_not_one_per_caller() -> None:
    asked: list[str] = []
    hanging = True

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content)["text"])
        if hanging:
            raise httpx.ReadTimeout("hangs", request=request)
        return httpx.Response(200, json=PARSE)

    clock = Clock()
    client = RasaClassifier(
        ["http://hanging"], transport=rasa(handler), circuit=Circuit(pause=10, clock=clock)
    )
    with pytest.raises(NluTimeout):
        await client.classify("first")
    for text in ("second", "third"):  # refused at once while the circuit is open
        with pytest.raises(NluUnavailable, match="lately"):
            await client.classify(text)
    assert asked == ["first"]
    clock.now += 11  # one caller tries again; it still hangs: open again
    with pytest.raises(NluTimeout):
        await client.classify("fourth")
    with pytest.raises(NluUnavailable, match="lately"):
        await client.classify("fifth")
    hanging = False
    clock.now += 11
    assert (await client.classify("sixth")).intent == "order_status"
    assert (await client.classify("seventh")).intent == "order_status"  # closed again
    assert asked == ["first", "fourth", "sixth", "seventh"]
    await client.aclose()


def test_while_one_caller_tries_again_the_others_are_still_refused() -> None:
    clock = Clock()
    circuit = Circuit(pause=5, clock=clock)
    circuit.failed()
    assert not circuit.allow()
    clock.now += 6
    assert circuit.allow()  # this caller tries
    assert not circuit.allow()  # the others wait for its answer
    circuit.succeeded()
    assert circuit.allow()


async def test_a_burst_waits_here_and_a_busy_server_keeps_the_circuit_closed() -> None:
    """Two requests in flight per server; the others wait here, and those that wait
    longer than the timeout are told so without the server being taken for dead."""
    asked: list[str] = []
    parsing = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content)["text"])
        await parsing.wait()  # the server is busy until the queued callers gave up
        return httpx.Response(200, json=PARSE)

    client = RasaClassifier(["http://busy"], timeout=0.2, transport=rasa(handler))
    calls = [asyncio.create_task(client.classify(f"customer {n}")) for n in range(5)]
    async with asyncio.timeout(5):  # the three waiting give up after the timeout
        await asyncio.wait(calls[2:])
    for call in calls[2:]:
        with pytest.raises(NluTimeout, match="busy"):
            call.result()
    assert not any(call.done() for call in calls[:2])  # still being parsed
    parsing.set()
    assert [(await call).intent for call in calls[:2]] == ["order_status"] * 2
    assert (await client.classify("the next one")).intent == "order_status"  # not refused
    assert asked == ["customer 0", "customer 1", "the next one"]
    await client.aclose()
