"""Widget visitors the company's site vouches for (an HMAC of its id for them under
FRONTDESK_WIDGET_SECRET) and those it does not; and the limits that keep one visitor's
flood from reaching the database or slowing anyone else down."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import websockets
from sqlmodel import col, func, select

from bot.tables import Contact, Customer, Message
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text, settings_for
from tests.fakes.rasa import FakeRasa, meaning
from tests.fakes.slack import FakeSlack
from tests.fakes.visitor import Refused, Visitor

SECRET = "site-backend-secret"
CHARGED_TWICE = "I was charged twice for my subscription this month"


def vouched(user_id: str, secret: str = SECRET, **fields: str) -> dict[str, str]:
    """What the site's backend gives the widget for a signed-in customer."""
    digest = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return {"id": user_id, "hash": digest, **fields}


ADA = vouched("user-1815", name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
async def app(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, slack: FakeSlack
) -> AsyncIterator[Frontdesk]:
    settings = settings_for(database_url, always_open_config(tmp_path), fake_rasa.url, slack.url)
    async with Frontdesk(replace(settings, widget_secret=SECRET)) as frontdesk:
        yield frontdesk


async def counts(app: Frontdesk) -> tuple[int, int, int]:
    async with app.store.session() as session:
        return (
            (await session.exec(select(func.count()).select_from(Customer))).one(),
            (await session.exec(select(func.count()).select_from(Contact))).one(),
            (await session.exec(select(func.count()).select_from(Message))).one(),
        )


async def test_a_verified_visitor_on_two_browsers_sees_one_history(app: Frontdesk) -> None:
    async with Visitor(app.url, identity=ADA) as laptop:
        await laptop.say("hello")
        await laptop.message(lambda m: m["kind"] == "bot")
    async with Visitor(app.url, identity=ADA) as phone:
        assert phone.token != laptop.token  # two browsers, two tokens
        shown = await phone.message(lambda m: m["text"] == "hello")
        assert shown["kind"] == "customer"
        await phone.say("hi")
    async with Visitor(app.url, token=laptop.token, identity=ADA) as again:
        await again.message(lambda m: m["text"] == "hi")  # written on the phone
    async with app.store.session() as session:
        ada = (await session.exec(select(Customer).where(col(Customer.verified)))).one()
    assert (ada.name, ada.email) == ("Ada Lovelace", "ada@example.com")


async def test_a_forged_hash_is_refused_and_stores_nothing(app: Frontdesk) -> None:
    async with Visitor(app.url, identity=ADA) as ada:
        await ada.say("hello")
    before = await counts(app)
    forged = [
        {**ADA, "hash": "0" * 64},
        vouched("user-1815", secret="guessed"),
        {**ADA, "id": "user-1816"},  # Ada's hash for someone else
        {"id": "user-1815"},
        "user-1815",
    ]
    for identity in forged:
        with pytest.raises(Refused) as refused:
            async with Visitor(app.url, identity=identity):  # type: ignore[arg-type]
                pass
        assert refused.value.code == "bad_identity"
    # Nor does Ada's token open her history without her identity.
    async with Visitor(app.url, token=ada.token) as stranger:
        assert stranger.token != ada.token
        await stranger.say("hi")
        await asyncio.sleep(0.3)  # what Ada wrote would have been pushed by now
        assert "hello" not in [m["text"] for m in stranger.messages]
    customers, contacts, _ = await counts(app)
    assert (customers, contacts) == (before[0] + 1, before[1] + 1)  # the stranger only


async def test_an_anonymous_visitor_who_signs_in_keeps_their_conversation(
    app: Frontdesk,
) -> None:
    async with Visitor(app.url) as anonymous:
        await anonymous.say("hello")
    async with Visitor(app.url, token=anonymous.token, identity=ADA) as signed_in:
        assert signed_in.token == anonymous.token
        await signed_in.message(lambda m: m["text"] == "hello")
    customers, _, _ = await counts(app)
    assert customers == 1


async def test_the_card_says_whether_the_site_vouched_for_the_customer(
    app: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(app.url, identity=ADA) as ada, Visitor(app.url) as anonymous:
        await ada.say(CHARGED_TWICE)
        await anonymous.say(CHARGED_TWICE)

        async def cards() -> list[str]:
            found = [json.dumps(p["blocks"], ensure_ascii=False) for p in slack.posts
                     if p.get("blocks") and not p.get("thread_ts")]  # fmt: skip
            return found if len(found) == 2 else []

        shown = await eventually(cards)
    verified = next(c for c in shown if "Ada Lovelace" in c)  # type: ignore[union-attr]
    other = next(c for c in shown if "Ada Lovelace" not in c)  # type: ignore[union-attr]
    assert "✓ verified by the site (ada@example.com)" in verified
    assert "unverified" in other
    assert "verified by the site" not in other


async def test_a_site_can_require_signed_in_visitors(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        always_open_text().replace(
            "widget: {require_identity: false}", "widget: {require_identity: true}"
        )
    )
    settings = settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    async with Frontdesk(replace(settings, widget_secret=SECRET)) as app:
        with pytest.raises(Refused) as refused:
            async with Visitor(app.url):
                pass
        assert refused.value.code == "identity_required"
        async with Visitor(app.url, identity=ADA) as ada:
            assert (await ada.say("hello"))["type"] == "ack"


async def test_identities_without_a_widget_secret_are_refused_clearly(
    frontdesk: Frontdesk,
) -> None:
    with pytest.raises(Refused) as refused:
        async with Visitor(frontdesk.url, identity=ADA):
            pass
    assert refused.value.code == "identity_unverifiable"
    assert "FRONTDESK_WIDGET_SECRET" in str(refused.value)


# Limits -----------------------------------------------------------------------------


async def test_a_flood_from_one_visitor_is_limited_while_others_are_served(
    app: Frontdesk, fake_rasa: FakeRasa
) -> None:
    fake_rasa.otherwise = meaning("out_of_scope", 0.2)
    flooder = "10.0.0.66"
    async with Visitor(app.url, address=flooder) as first:
        token = first.token

    async def flood_messages() -> Counter[str]:
        """1,000 messages as fast as one socket takes them: the server answers each
        until it has refused too many, then closes the socket."""
        seen: Counter[str] = Counter()
        async with Visitor(app.url, token=token, address=flooder) as visitor:
            with contextlib.suppress(websockets.ConnectionClosed):
                for n in range(1000):
                    frame = {"type": "message", "id": f"flood{n}", "text": f"spam {n}"}
                    await visitor.socket.send(json.dumps(frame))
            await visitor.closed()
            while not visitor.frames.empty():
                frame = visitor.frames.get_nowait()
                if frame["type"] in ("ack", "error"):
                    seen[frame.get("code", "ack")] += 1
        return seen

    async def flood_sockets() -> Counter[str]:
        """500 sockets at once from the same address."""

        async def one() -> str:
            try:
                visitor = Visitor(app.url, token=token, address=flooder)
                await visitor.__aenter__()
            except Refused as refused:
                return refused.code
            opened.append(visitor)
            return "open"

        opened: list[Visitor] = []
        outcomes = Counter(await asyncio.gather(*(one() for _ in range(500))))
        for visitor in opened:
            await visitor.__aexit__(None, None, None)
        return outcomes

    async def ordinary(n: int) -> list[float]:
        """A visitor from their own address writing five messages, as people do."""
        waits = []
        async with Visitor(app.url, address=f"10.0.1.{n}") as visitor:
            for i in range(5):
                started = asyncio.get_running_loop().time()
                ack = await visitor.say(f"question {i} from visitor {n}")
                assert ack["type"] == "ack", ack
                waits.append(asyncio.get_running_loop().time() - started)
                await asyncio.sleep(0.05)
        return waits

    messages, sockets, *served = await asyncio.gather(
        flood_messages(), flood_sockets(), *(ordinary(n) for n in range(20))
    )
    waits = sorted(w for visitor in served for w in visitor)
    p95 = statistics.quantiles(waits, n=20)[-1]
    print(f"\n20 ordinary visitors beside the flood: {len(waits)} acks, "
          f"p50 {statistics.median(waits) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; "
          f"flood messages {dict(messages)}; flood sockets {dict(sockets)}")  # fmt: skip
    assert len(waits) == 100
    assert messages["ack"] <= 12  # the burst, and what refills while it lasts
    assert messages["rate_limited"] >= 10
    assert sockets["open"] <= 100
    assert sockets["too_many_sockets"] >= 400
    async with app.store.session() as session:
        stored = (
            await session.exec(select(Message).where(col(Message.body).startswith("spam")))
        ).all()
    assert len(stored) == messages["ack"]  # nothing refused reached the database
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{app.url}/metrics")).text
    assert 'frontdesk_limited_total{limit="messages",source="web"}' in metrics
    assert 'frontdesk_limited_total{limit="sockets",source="web"}' in metrics


async def test_new_visitors_from_one_address_are_limited(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    config = tmp_path / "config.yml"  # 3 a minute: the next comes after 20 s, not during
    config.write_text(
        always_open_text().replace("new_visitors_per_minute: 60", "new_visitors_per_minute: 3")
    )
    settings = settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    async with Frontdesk(settings) as app:
        outcomes: Counter[str] = Counter()
        for _ in range(8):
            try:
                async with Visitor(app.url, address="10.0.0.77"):
                    outcomes["welcome"] += 1
            except Refused as refused:
                outcomes[refused.code] += 1
        assert outcomes == {"welcome": 3, "too_many_visitors": 5}
        async with Visitor(app.url, address="10.0.0.78") as elsewhere:
            assert (await elsewhere.say("hello"))["type"] == "ack"


def test_refusal_codes_the_widget_script_stops_on_are_the_servers() -> None:
    script = (Path(__file__).parents[2] / "bot" / "static" / "widget.js").read_text()
    for code in ("bad_identity", "identity_required", "identity_unverifiable"):
        assert f'"{code}"' in script
