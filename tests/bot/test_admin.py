"""The admin API (token-protected) and /metrics, against the running app."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.tables import utcnow
from tests.bot.test_escalation import seed_replies
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.slack import FakeSlack
from tests.fakes.visitor import Visitor

ADMIN = {"Authorization": "Bearer admin-secret"}


async def call(
    frontdesk: Frontdesk,
    method: str,
    path: str,
    headers: dict[str, str] | None = ADMIN,
    **kwargs: Any,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=frontdesk.url, timeout=30) as client:
        return await client.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (None, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "admin-secret"}, 200),
        (ADMIN, 200),
    ],
)
async def test_admin_needs_the_token(
    frontdesk: Frontdesk, headers: dict[str, str] | None, status: int
) -> None:
    response = await call(frontdesk, "GET", "/admin/roster", headers=headers)
    assert response.status_code == status


async def test_admin_is_off_without_a_token(frontdesk: Frontdesk) -> None:
    await frontdesk.restart(admin_token=None)
    response = await call(frontdesk, "GET", "/admin/roster")
    assert response.status_code == 404
    assert "FRONTDESK_ADMIN_TOKEN" in response.json()["error"]


async def test_roster_shows_who_is_available(frontdesk: Frontdesk) -> None:
    people = (await call(frontdesk, "GET", "/admin/roster")).json()["employees"]
    priya = next(p for p in people if p["id"] == "priya")
    assert priya["available"] is True
    assert priya["hours"] == "Mon-Sun 00:00-24:00 (Europe/London)"
    assert len(people) == 11


async def test_roster_shows_how_fast_each_person_usually_replies(frontdesk: Frontdesk) -> None:
    await seed_replies(frontdesk.store, "priya", [8, 9, 10, 11, 45], utcnow() - timedelta(days=1))
    await seed_replies(frontdesk.store, "tomas", [5, 5], utcnow() - timedelta(days=1))
    people = (await call(frontdesk, "GET", "/admin/roster")).json()["employees"]
    replies = {p["id"]: (p["usual_reply_seconds"], p["usually_replies_within"]) for p in people}
    assert replies["priya"] == (600.0, "about 10 minutes")
    assert replies["tomas"] == (None, None)  # too few to say


async def test_who_would_get_this_message_and_why(frontdesk_with_rasa: Frontdesk) -> None:
    response = await call(
        frontdesk_with_rasa,
        "POST",
        "/admin/route",
        json={"text": "where is my order 12345", "channel": "telegram"},
    )
    result = response.json()
    assert result["intent"] == "order_status"
    assert result["rule"] == "orders and delivery"
    assert result["employee"]["id"] == "amara"
    assert result["reasons"][0].startswith("Rule 'orders and delivery' matched")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"text": ""}, "text"),
        ({"text": "hi", "channel": "fax"}, "channel"),
        ({"text": "hi", "colour": "blue"}, "colour"),
        ("not json", "body"),
    ],
)
async def test_bad_admin_requests_say_what_is_wrong(
    frontdesk: Frontdesk, body: Any, problem: str
) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = await call(frontdesk, "POST", "/admin/route", **kwargs)
    assert response.status_code == 400
    assert [p.split(": ")[0] for p in response.json()["problems"]] == [problem]


async def test_an_away_employee_is_passed_over(frontdesk: Frontdesk) -> None:
    assert (
        await call(frontdesk, "PUT", "/admin/employees/amara/away", json={"away": True})
    ).json() == {"employee": "amara", "away": True}
    people = (await call(frontdesk, "GET", "/admin/roster")).json()["employees"]
    amara = next(p for p in people if p["id"] == "amara")
    assert (amara["away"], amara["available"]) == (True, False)
    result = (
        await call(frontdesk, "POST", "/admin/route", json={"text": "where is my order 12345"})
    ).json()
    # Amara leads the orders team in the config; with her away, the next one listed.
    assert result["employee"]["id"] == "jonas"
    assert result["reasons"][0].startswith("Rule 'orders and delivery' matched")
    assert result["reasons"][-1].startswith("Jonas Becker is available")
    assert (
        await call(frontdesk, "PUT", "/admin/employees/nobody/away", json={"away": True})
    ).status_code == 404


async def test_the_reasons_name_an_away_employee_who_was_passed_over(
    frontdesk: Frontdesk,
) -> None:
    await call(frontdesk, "PUT", "/admin/employees/amara/away", json={"away": True})
    result = (
        await call(frontdesk, "POST", "/admin/route", json={"text": "where is my order 12345"})
    ).json()
    assert result["employee"]["id"] == "jonas"
    assert any("Amara Okafor is away" in r for r in result["reasons"]), result["reasons"]


async def test_a_broken_config_is_refused_and_the_old_one_kept(
    frontdesk: Frontdesk, tmp_path: Path
) -> None:
    path = frontdesk.settings.config_path
    good = path.read_text()
    broken = good.replace("max_open: 6", "max_open: many", 1)
    path.write_text(broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "max_open: many" in text)
    response = await call(frontdesk, "POST", "/admin/config/reload")
    assert response.status_code == 400
    [problem] = response.json()["problems"]
    assert problem.startswith(f"{path}:{line}: employees[0].max_open: ")
    kept = (await call(frontdesk, "GET", "/admin/roster")).json()["employees"]
    assert next(p["max_open"] for p in kept if p["id"] == "priya") == 6
    path.write_text(good.replace("title: Billing specialist", "title: Head of Billing"))
    assert (await call(frontdesk, "POST", "/admin/config/reload")).json()["reloaded"] is True
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("I was charged twice for my subscription this month")
        intro = await visitor.message(lambda m: "introduces" in m)
    # Priya, listed first in Billing, takes the first billing customer: as retitled.
    assert (intro["introduces"]["name"], intro["introduces"]["title"]) == (
        "Priya Sharma",
        "Head of Billing",
    )


async def test_a_job_slack_refuses_for_good_fails_once_and_is_listed(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", 200, error="channel_not_found")
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("I was charged twice for my subscription this month")
        await visitor.message(lambda m: "introduces" in m)

    async def listed() -> list[dict[str, Any]]:
        return (await call(frontdesk, "GET", "/admin/outbox?status=failed")).json()["jobs"]

    jobs = await eventually(listed)
    assert [(j["kind"], j["attempts"], j["last_error"]) for j in jobs] == [
        ("card.open", 1, "Slack refused: channel_not_found")
    ]  # type: ignore[union-attr]


async def test_metrics_in_prometheus_format(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("I was charged twice for my subscription this month")
        await visitor.message(lambda m: "introduces" in m)
    response = await call(frontdesk, "GET", "/metrics", headers=None)
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        'frontdesk_messages_received_total{channel="web"} 1.0',
        "frontdesk_nlu_parse_seconds_count 1.0",
        'frontdesk_outbox_attempts_total{kind="triage",outcome="done"} 1.0',
        "frontdesk_widget_connections 0.0",
    ):
        assert line in text, line
    assert (
        'frontdesk_handoffs_total{availability="available",rule="refunds, invoices and subscriptions"} 1.0'
        in text
    )
    assert "frontdesk_open_conversations{" in text
    assert "I was charged" not in text
