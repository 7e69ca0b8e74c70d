"""Nothing is lost: NLU down, Slack not (yet) connected, a restart mid-send, two app
instances on one PostgreSQL database."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.tables import Message, OutboxJob
from tests.conftest import PostgresDatabase, eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import APP_TOKEN, FakeSlack, event_callback, press, send_event, thread_reply
from tests.fakes.visitor import Visitor

CHARGED_TWICE = "I was charged twice for my subscription this month"


def cards(slack: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]


async def card_job(frontdesk: Frontdesk) -> OutboxJob | None:
    async with frontdesk.store.session() as session:
        return (await session.exec(select(OutboxJob).where(OutboxJob.kind == "card.open"))).first()


async def test_with_the_nlu_down_the_customer_still_reaches_a_person(
    tmp_path: Path, slack: FakeSlack
) -> None:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'fd.db'}",
        always_open_config(tmp_path),
        "http://127.0.0.1:9",
        slack.url,
    )
    async with Frontdesk(settings) as frontdesk, Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        down = await visitor.message(lambda m: "straight to a person" in m["text"])
        assert down["kind"] == "bot"
        intro = await visitor.message(lambda m: "introduces" in m)
        assert intro["introduces"]["name"] == "Sam Rivera"  # the fallback team's first free person

        async def posted() -> list[dict[str, Any]]:
            return cards(slack)

        card = (await eventually(posted))[0]  # type: ignore[index]
        assert "NLU unavailable or unsure" in json.dumps(card["blocks"])
        assert CHARGED_TWICE in json.dumps(card["blocks"])


async def test_without_slack_handoffs_wait_stored_until_it_is_connected(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'fd.db'}", always_open_config(tmp_path), fake_rasa.url, None
    )
    async with Frontdesk(settings) as frontdesk:
        async with Visitor(frontdesk.url) as visitor:
            await visitor.say(CHARGED_TWICE)
            await visitor.message(lambda m: "introduces" in m)
            token = visitor.token
        job = await card_job(frontdesk)
        assert job is not None
        assert (job.status, job.attempts) == ("pending", 0)

        await frontdesk.restart(slack_bot_token=settings_for("", Path(), "", slack.url).slack_bot_token,
                                slack_signing_secret="test-signing-secret", slack_api_url=f"{slack.url}/api/")  # fmt: skip

        async def delivered() -> bool:
            return len(cards(slack)) == 1

        await eventually(delivered)
        async with Visitor(frontdesk.url, token=token) as visitor:
            await visitor.say("any news?")

            async def in_thread() -> bool:
                return len(slack.posts) == 2

            await eventually(in_thread)
    assert len(cards(slack)) == 1


async def test_a_restart_resumes_an_unfinished_send(frontdesk: Frontdesk, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", 503, times=1000)
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)

        async def tried() -> bool:
            job = await card_job(frontdesk)
            return job is not None and job.attempts >= 1

        await eventually(tried)
    await frontdesk.stop()
    slack.faults.clear()
    await frontdesk.start()

    async def done() -> bool:
        job = await card_job(frontdesk)
        return job is not None and job.status == "done"

    await eventually(done, timeout=30)
    assert len(cards(slack)) == 1


async def test_a_colleague_in_the_team_channel_takes_over(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    config = always_open_config(tmp_path, team_channel="C0SUPPORT")
    settings = settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    async with Frontdesk(settings) as frontdesk, Visitor(frontdesk.url) as visitor:
        await visitor.say("the app keeps crashing every time I open my basket")
        first = await visitor.message(lambda m: "introduces" in m)
        assert first["introduces"]["name"] == "Sam Rivera"

        async def posted() -> list[dict[str, Any]]:
            return cards(slack)

        card = (await eventually(posted))[0]  # type: ignore[index]
        assert card["channel"] == "C0SUPPORT"
        assert card["text"].startswith("<@U0SAMRI01>")
        assert "conversations.open" not in slack.calls
        assert "frontdesk_take_over" in json.dumps(card["blocks"])

        await send_event(
            frontdesk.url, thread_reply("C0SUPPORT", card["ts"], "U0LENAN01", "I know this one")
        )
        take_over = {"action_id": "frontdesk_take_over", "type": "button", "value": "1"}
        assert (
            await press(frontdesk.url, "U0LENAN01", take_over, channel="C0SUPPORT")
        ).status_code == 200
        await visitor.message(lambda m: "Lena Novak" in m["text"] and "introduces" in m)
        await send_event(
            frontdesk.url, thread_reply("C0SUPPORT", card["ts"], "U0SAMRI01", "Sam: let me check")
        )
        await send_event(
            frontdesk.url,
            thread_reply(
                "C0SUPPORT", card["ts"], "U0LENAN01", "Clear the app cache, then restart it."
            ),
        )
        answer = await visitor.message(lambda m: m["kind"] == "employee")
        assert answer["author"]["name"] == "Lena Novak"
        assert [m["text"] for m in visitor.messages if m["kind"] == "employee"] == [
            "Clear the app cache, then restart it."
        ]

        async def noted() -> bool:
            return any("took this conversation over" in p.get("text", "") for p in slack.posts)

        await eventually(noted)


@pytest.mark.postgres
async def test_two_instances_share_one_postgres_database(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    import os

    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with PostgresDatabase(admin) as url:
        settings = settings_for(url, always_open_config(tmp_path), fake_rasa.url, slack.url)
        async with Frontdesk(settings) as one, Frontdesk(settings) as two:
            async with Visitor(one.url) as visitor:
                await visitor.say(CHARGED_TWICE)

                async def posted() -> list[dict[str, Any]]:
                    return cards(slack)

                card = (await eventually(posted))[0]  # type: ignore[index]
                # Slack may deliver the reply to either instance; the visitor is on the other.
                reply = thread_reply(
                    card["channel"], card["ts"], card["channel"][1:], "Answered from instance two"
                )
                assert (await send_event(two.url, reply)).status_code == 200
                answer = await visitor.message(lambda m: m["kind"] == "employee")
                assert answer["text"] == "Answered from instance two"
                for i in range(5):
                    await visitor.say(f"follow-up {i}")

                async def relayed() -> bool:
                    return len(slack.posts_in(card["channel"], card["ts"])) == 5

                await eventually(relayed)

            async def jobs_ended() -> list[OutboxJob]:
                # A finished job is written a moment after its post (outcomes are
                # written together), so the last post can arrive before its "done".
                async with one.store.session() as session:
                    jobs = (await session.exec(select(OutboxJob))).all()
                return list(jobs) if all(job.status != "pending" for job in jobs) else []

            jobs = await eventually(jobs_ended)
            async with one.store.session() as session:
                messages = (
                    await session.exec(select(Message).where(Message.author == "customer"))
                ).all()
        assert len(cards(slack)) == 1
        assert [job.status for job in jobs] == ["done"] * len(jobs)
        assert [p["text"].split("*: ")[1] for p in slack.posts_in(card["channel"], card["ts"])] == [
            f"follow-up {i}" for i in range(5)
        ]
        assert len(messages) == 6


async def test_socket_mode_instead_of_http_events(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    settings = replace(
        settings_for(f"sqlite:///{tmp_path / 'fd.db'}", always_open_config(tmp_path), fake_rasa.url, slack.url),
        slack_signing_secret=None, slack_app_token=APP_TOKEN,
    )  # fmt: skip
    async with Frontdesk(settings) as frontdesk, Visitor(frontdesk.url) as visitor:
        async with httpx.AsyncClient() as client:
            assert (
                await client.post(f"{frontdesk.url}/slack/events", content="{}")
            ).status_code == 404
        await visitor.say(CHARGED_TWICE)

        async def posted() -> list[dict[str, Any]]:
            return cards(slack)

        card = (await eventually(posted))[0]  # type: ignore[index]
        reply = thread_reply(
            card["channel"], card["ts"], card["channel"][1:], "Hello over Socket Mode"
        )
        ack = await slack.push("events_api", event_callback(reply))
        async with frontdesk.store.session() as session:  # acknowledged only once stored
            stored = (await session.exec(select(Message).where(Message.source == "desk"))).all()
        assert ack["envelope_id"]
        assert [m.body for m in stored] == ["Hello over Socket Mode"]
        answer = await visitor.message(lambda m: m["kind"] == "employee")
        assert answer["text"] == "Hello over Socket Mode"
        close = {"type": "block_actions", "user": {"id": card["channel"][1:]}, "team": {"id": "TACME"},
                 "api_app_id": "AFRONT", "container": {"type": "message"}, "trigger_id": "1",
                 "actions": [{"action_id": "frontdesk_close", "type": "button", "value": "1", "action_ts": "1"}]}  # fmt: skip
        await slack.push("interactive", close)
        await visitor.message(lambda m: "closed this conversation" in m["text"])
