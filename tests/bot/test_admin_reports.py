"""The replay and report endpoints over real HTTP, behind the admin API's token."""

import csv
import io

from tests.bot.test_admin import call
from tests.fakes.frontdesk import Frontdesk, always_open_text
from tests.fakes.visitor import Visitor


async def test_the_report_downloads_each_part_as_csv(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("I was charged twice for my subscription this month")
        await visitor.message(lambda m: "will answer you here" in m["text"])
    response = await call(frontdesk, "GET", "/admin/report?part=topics&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert table == [
        {"topic": "billing", "conversations": "1", "previous": "0", "change_percent": ""}
    ]
    whole = (await call(frontdesk, "GET", "/admin/report?by=week")).json()
    assert whole["by"] == "week"
    assert whole["parts"]["continuity"][0] == {
        "outcome": "reached",
        "conversations": 0,
        "share": None,
    }


async def test_bad_report_queries_say_what_is_wrong(frontdesk: Frontdesk) -> None:
    for query, words in [
        ("format=csv", "a CSV is one part"),
        ("part=weather", "no part 'weather'"),
        ("from=yesterday", "'yesterday' is not a date"),
        ("from=2026-11-20&to=2026-11-10", "the period is empty"),
        ("from=2020-01-01&to=2026-01-01", "longer than 366 days"),
    ]:
        response = await call(frontdesk, "GET", f"/admin/report?{query}")
        assert response.status_code == 400, query
        assert words in response.json()["error"]
    assert (await call(frontdesk, "GET", "/admin/report", headers=None)).status_code == 401


async def test_a_replay_checks_the_candidate_as_check_config_does(frontdesk: Frontdesk) -> None:
    broken = always_open_text().replace("to: {team: billing}", "to: {team: bililng}")
    response = await call(frontdesk, "POST", "/admin/replay", json={"config_yaml": broken})
    assert response.status_code == 400
    assert response.json()["error"] == "config not valid"
    assert any("candidate config:" in p and "bililng" in p for p in response.json()["problems"])
    huge = await call(frontdesk, "POST", "/admin/replay", json={"config_yaml": "x" * 5_000_000})
    assert huge.status_code == 413
    fine = await call(
        frontdesk, "POST", "/admin/replay",
        json={"config_yaml": always_open_text(), "since": "2026-01-01"},
    )  # fmt: skip
    assert fine.status_code == 200
    assert fine.json()["since"] == "2026-01-01T00:00:00+00:00"
    assert fine.json()["other_person"] == 0
