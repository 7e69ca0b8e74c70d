"""The console's sign-in link from Slack (`/frontdesk`), and config versions over real
HTTP: a version applied through one instance routes on another within 5 s (PostgreSQL,
LISTEN/NOTIFY), with the poll as the safety net."""

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.bot.test_admin import ADMIN
from tests.conftest import PostgresDatabase, eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text, settings_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import FakeSlack, slash_command
from tests.fakes.visitor import Visitor

CHARGED_TWICE = "I was charged twice for my subscription this month"
SAM_U, PRIYA_U = "U0SAMRI01", "U0PRIYA01"


async def test_an_admin_gets_a_link_in_a_dm_and_others_a_refusal(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    answer = await slash_command(frontdesk.url, SAM_U, "")
    assert "sent you a sign-in link in a direct message" in answer.text
    [dm] = slack.posts_in(f"D{SAM_U}")
    link = dm["text"].split("console: ")[1].split()[0]
    assert link.startswith("http://127.0.0.1:8000/admin/sign-in?token=")
    async with httpx.AsyncClient() as client:
        opened = await client.get(frontdesk.url + link.removeprefix("http://127.0.0.1:8000"))
    assert "Sign in as Sam Rivera" in opened.text
    refused = await slash_command(frontdesk.url, PRIYA_U, "sign in")
    assert "Sorry Priya Sharma, the console is for admins only" in refused.text
    assert slack.posts_in(f"D{PRIYA_U}") == []
    away = await slash_command(frontdesk.url, PRIYA_U, "away")  # the other words still work
    assert "You are away" in away.text


async def test_a_version_applied_on_one_instance_routes_on_the_other(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        pytest.skip("TEST_DATABASE_URL is not set")
    billing_to_sam = always_open_text().replace(
        "when: {intent: [refund, billing, cancel_subscription]}\n    to: {team: billing}",
        "when: {intent: [refund, billing, cancel_subscription]}\n    to: {employee: sam}",
    )
    assert billing_to_sam != always_open_text()
    async with PostgresDatabase(admin) as url:
        settings = settings_for(url, always_open_config(tmp_path), fake_rasa.url, slack.url)
        async with Frontdesk(settings) as one, Frontdesk(settings) as two:
            two.runtime.versions.poll = 60.0  # only the news can bring it within the test
            async with httpx.AsyncClient(headers=ADMIN, timeout=10) as client:

                async def routed_to() -> str:
                    answer = await client.post(
                        f"{two.url}/admin/route", json={"text": CHARGED_TWICE}
                    )
                    return str(answer.json()["employee"]["id"])

                assert await routed_to() != "sam"
                applied = await client.post(
                    f"{one.url}/admin/config/versions",
                    json={"text": billing_to_sam, "comment": "billing to Sam for a week"},
                )
                assert applied.status_code == 201
                started = time.monotonic()

                async def sam() -> bool:
                    return await routed_to() == "sam"

                await eventually(sam, timeout=5)
                took = time.monotonic() - started
                async with Visitor(two.url) as visitor:
                    await visitor.say(CHARGED_TWICE)
                    intro = await visitor.message(lambda m: "introduces" in m)
                assert intro["introduces"]["name"] == "Sam Rivera"
                listed = (await client.get(f"{two.url}/admin/config/versions")).json()
        assert [v["id"] for v in listed["versions"]] == [2, 1]  # seeded once by two starts
        print(f"version 2 routed on the other instance after {took:.3f} s")
