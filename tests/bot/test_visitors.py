"""Widget visitors the company's site vouches for (an HMAC of its id for them under
FRONTDESK_WIDGET_SECRET) and those it does not; and the limits that keep one visitor's
flood from reaching the database or slowing anyone else down."""

import asyncio
import hashlib
import hmac
import json
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from bot.tables import Contact, Customer, Message
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text, settings_for
from tests.fakes.rasa import FakeRasa, meaning
from tests.fakes.slack import FakeSlack
from tests.fakes.visitor import Refused, Visitor

ROOT = Path(__file__).parents[2]
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
    """One visitor sends message frames at ~1,000 a second for 4 s, reconnecting
    whenever the server closes its socket, and opens 500 sockets at once, from a
    process of its own. Twenty ordinary visitors write as people do, first with nobody
    flooding and then beside the flood: all of them are served, and their ack times
    are printed (speed is measured, not asserted)."""
    fake_rasa.otherwise = meaning("out_of_scope", 0.2)
    flooder = "10.0.0.66"
    async with Visitor(app.url, address=flooder) as first:
        token = first.token
    cpu = time.process_time()
    quiet = await ordinary_visitors(app, "10.0.1")
    cpu_quiet, cpu = time.process_time() - cpu, time.process_time()

    started = asyncio.get_running_loop().time()
    flood = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.flood",
        "--seconds", "4", "--rate", "1000", "--sockets", "500", "--hold", "2",
        "--", app.url, flooder, str(token),  # a token may begin with "-"
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert flood.stdout is not None
    if (line := await flood.stdout.readline()).strip() != b"flooding":
        _, err = await flood.communicate()
        pytest.fail(f"the flood did not start: {line!r} {err.decode()[-2000:]}")
    flooded = await ordinary_visitors(app, "10.0.2")
    cpu_flooded = time.process_time() - cpu
    out, err = await flood.communicate()
    elapsed = asyncio.get_running_loop().time() - started
    assert flood.returncode == 0, err.decode()
    seen = Counter(json.loads(out))
    print(f"\nack times of 20 ordinary visitors: quiet {figures(quiet)}; "
          f"beside the flood {figures(flooded)}; CPU of this process (app and ordinary "
          f"visitors) {cpu_quiet:.2f} s quiet, {cpu_flooded:.2f} s flooded; flood {dict(seen)}")  # fmt: skip

    assert len(quiet) == len(flooded) == 20 * 8  # every ordinary message acked, none refused
    assert seen["rate_limited"] >= 20
    assert seen["closed 1008"] >= 1  # closed for flooding,
    assert seen["rate_limited at hello"] >= 1  # and refused when it came straight back
    assert seen["sockets_open"] <= 10  # a visitor's share of sockets
    assert seen["too_many_sockets at hello"] >= 490
    async with app.store.session() as session:
        stored = (
            await session.exec(select(Message).where(col(Message.body).startswith("spam")))
        ).all()
    # The burst, and what refills while the flood lasts; nothing refused was stored.
    assert len(stored) == seen["ack"] <= 10 + math.ceil(elapsed * 20 / 60)
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{app.url}/metrics")).text
    for limit in ("messages", "visitor_sockets", "reconnects"):
        assert f'frontdesk_limited_total{{limit="{limit}",source="web"}}' in metrics


async def ordinary_visitors(app: Frontdesk, network: str) -> list[float]:
    """Twenty new visitors, each from an address of its own, each writing eight
    messages 0.3 s apart (their starts spread over those 0.3 s): how long each ack took
    (seconds). Any refusal fails."""

    async def one(n: int) -> list[float]:
        waits = []
        await asyncio.sleep(n * 0.015)
        async with Visitor(app.url, address=f"{network}.{n}") as visitor:
            for i in range(8):
                started = asyncio.get_running_loop().time()
                ack = await visitor.say(f"question {i} from visitor {n}")
                assert ack["type"] == "ack", ack
                waits.append(asyncio.get_running_loop().time() - started)
                await asyncio.sleep(0.3)
        return waits

    return [wait for waits in await asyncio.gather(*(one(n) for n in range(20))) for wait in waits]


def figures(waits: list[float]) -> str:
    p95 = statistics.quantiles(waits, n=20)[-1]
    return f"p50 {statistics.median(waits) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


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
