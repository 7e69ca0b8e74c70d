import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from nlu import (
    NluBadResponse,
    NluError,
    NluTimeout,
    NluUnavailable,
    NothingToClassify,
    RasaClassifier,
)
from nlu.client import MAX_CHARS, Circuit, prepare
from tests.fakes.server import free_port

PARSE = {
    "text": "where is 12345",
    "intent": {"name": "order_status", "confidence": 0.91},
    "entities": [{"entity": "order_id", "value": "12345", "start": 9, "end": 14}],
    "intent_ranking": [{"name": "order_status", "confidence": 0.91}],
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def rasa(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """A local HTTP server answering `routes` (path -> handler); yields its base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def nobody_listening() -> str:
    """The URL of a local port with no server: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


async def parsed(request: web.Request) -> web.Response:
    return web.json_response(PARSE)


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
    seen: list[tuple[str, object]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.path_qs, await request.json()))
        return web.json_response(PARSE)

    async with rasa({"/model/parse": handler}) as url:
        client = RasaClassifier([f"{url}/?token=s3cret"])
        result = await client.classify("/where is 12345")
        await client.aclose()
    assert result.intent == "order_status"
    assert result.entity("order_id") == "12345"
    assert seen == [("/model/parse?token=s3cret", {"text": "where is 12345"})]


async def test_a_failing_server_is_skipped_for_the_next() -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="Internal Server Error")

    async with rasa({"/broken/model/parse": broken, "/up/model/parse": parsed}) as url:
        client = RasaClassifier([nobody_listening(), f"{url}/broken", f"{url}/up"])
        results = [await client.classify("where is 12345") for _ in range(3)]
        await client.aclose()
    assert {r.intent for r in results} == {"order_status"}


async def test_all_servers_down_is_unavailable_not_an_empty_intent() -> None:
    client = RasaClassifier([f"{nobody_listening()}?token=hidden", nobody_listening()])
    with pytest.raises(NluUnavailable) as caught:
        await client.classify("hello")
    await client.aclose()
    assert "hidden" not in str(caught.value)
    assert str(caught.value).count("cannot connect") == 2
    assert not isinstance(caught.value, NluTimeout)


async def test_timeouts_are_their_own_error() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response(PARSE)

    async with rasa({"/model/parse": slow}) as url:
        client = RasaClassifier([url], timeout=0.1)
        with pytest.raises(NluTimeout):
            await client.classify("hello")
        await client.aclose()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "<html>not json</html>"),
        (200, '{"intent": {"name": null, "confidence": 0.0}}'),
        (200, '{"entities": []}'),
        (401, '{"message": "unauthorized"}'),
    ],
)
async def test_nonsense_answers_are_bad_responses(status: int, body: str) -> None:
    async def odd(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    async with rasa({"/model/parse": odd}) as url:
        client = RasaClassifier([url])
        for _ in range(2):  # it answered, if badly: the circuit stays closed
            with pytest.raises(NluBadResponse):
                await client.classify("hello")
        await client.aclose()


async def test_ready_needs_a_loaded_model() -> None:
    answers = iter([{"model_file": None}, {"model_file": "models/nlu.tar.gz"}])

    async def status(request: web.Request) -> web.Response:
        return web.json_response(next(answers))

    async with rasa({"/status": status}) as url:
        client = RasaClassifier([url])
        assert not await client.ready()
        assert await client.ready()
        await client.aclose()
    nobody = RasaClassifier([nobody_listening()])
    assert not await nobody.ready()
    await nobody.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_hanging_server_costs_one_timeout_not_one_per_caller() -> None:
    asked: list[str] = []
    hanging = True

    async def handler(request: web.Request) -> web.Response:
        asked.append((await request.json())["text"])
        if hanging:
            await asyncio.sleep(5)
        return web.json_response(PARSE)

    clock = Clock()
    async with rasa({"/model/parse": handler}) as url:
        client = RasaClassifier([url], timeout=0.1, circuit=Circuit(pause=10, clock=clock))
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
        await client.aclose()
    assert asked == ["first", "fourth", "sixth", "seventh"]


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
    longer than the timeout are told so without the server being taken for dead.

    Each parse takes PARSING; pairs start at 0, PARSING and 2 * PARSING, all within
    the TIMEOUT, and the fourth pair could start only after it, so it gives up."""
    parsing, timeout = 0.2, 0.55
    asked: list[str] = []
    in_flight = most = 0

    async def busy(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        asked.append((await request.json())["text"])
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(parsing)
        in_flight -= 1
        return web.json_response(PARSE)

    async with rasa({"/model/parse": busy}) as url:
        client = RasaClassifier([url], timeout=timeout, in_flight=2)
        calls = [client.classify(f"customer {n}") for n in range(8)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        served = [r.intent for r in results if not isinstance(r, BaseException)]
        assert served == ["order_status"] * 6
        for gave_up in results[6:]:
            assert isinstance(gave_up, NluTimeout)
            assert "busy" in str(gave_up)
        assert (await client.classify("the next one")).intent == "order_status"  # not refused
        await client.aclose()
    assert most == 2
    assert asked == [f"customer {n}" for n in range(6)] + ["the next one"]
