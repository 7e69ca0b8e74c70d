"""The console's pages in memory: the real pages, sign-in, guard and config versions over
the harness's core (a temporary SQLite file, a lookup for the NLU, a clock the test
moves), called through ASGI as a browser would, with the session cookie and CSRF field."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.access import Access
from bot.admin import roster_rows
from bot.admin_console import AdminConsole
from bot.app import create_app
from bot.config_api import ConfigApi
from bot.config_versions import ConfigVersions
from bot.console_layout import PAGES, Parts
from bot.console_pages import console_routes
from bot.dryrun import as_text, dry_run
from bot.openapi import describe
from bot.sign_in import SignIn
from bot.store import conversations as stored
from bot.store.transcripts import transcript
from tests.bot.test_escalation import seed_replies
from tests.fakes.frontdesk import always_open_config, always_open_text, settings_for
from tests.fakes.harness import T0, Harness

SITE = "http://frontdesk.test"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": SITE}
TEXT = always_open_text()
NOT_API = ("/admin/console", "/admin/sign-in", "/admin/sign-out")  # HTML pages
RASA = "http://127.0.0.1:9"  # never asked: the app is built, not started
CHARGED = "I was charged twice for my subscription this month"
ORDER = "where is my order 12345"


@dataclass
class Console:
    harness: Harness
    versions: ConfigVersions
    client: httpx.AsyncClient
    csrf: str = ""

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **data}, headers=SAME_ORIGIN)

    async def rules_form(self) -> dict[str, str]:
        """The rule editor's fields as the page fills them."""
        page = (await self.client.get("/admin/console/rules")).text
        found = {}
        for chunk in page.split("<input ")[1:]:
            attributes = chunk.split(">")[0]
            if 'name="' in attributes and 'type="checkbox"' not in attributes:
                name = attributes.split('name="')[1].split('"')[0]
                value = (
                    attributes.split('value="')[1].split('"')[0] if 'value="' in attributes else ""
                )
                found[name] = (
                    value.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")
                )
        return found


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async with Harness(tmp_path, desk=False) as harness:
        path = tmp_path / "config.yml"
        path.write_text(TEXT)
        versions = ConfigVersions(harness.store, harness.news, harness.config, clock=harness.clock)
        await versions.adopt_file(path)
        sign_in = SignIn(harness.store, versions.current, harness.clock)
        access = Access("admin-secret", sign_in, SITE)
        parts = Parts(access, versions, harness.store, harness.clock, harness.nlu,
                      harness.employees, slack_connected=False)  # fmt: skip
        app = Starlette(routes=[
            *console_routes(parts), *ConfigApi(versions, access.guard, path).routes(),
            *AdminConsole(access).routes(),
        ])  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
            token = await sign_in.link("sam")
            await client.post("/admin/sign-in", data={"token": token}, headers=SAME_ORIGIN)
            found = Console(harness, versions, client)
            page = (await client.get("/admin/console/roster")).text
            found.csrf = page.split('name="csrf" value="')[1].split('"')[0]
            yield found


async def test_every_page_is_framed_and_strangers_are_sent_to_the_door(console: Console) -> None:
    for name, path in PAGES:
        page = await console.client.get(path)
        assert page.status_code == 200, path
        assert '<nav aria-label="Console">' in page.text
        assert f'<a href="{path}" aria-current=page>{name}</a>' in page.text
        assert page.text.count("<h1>") == 1
    async with httpx.AsyncClient(transport=console.client._transport, base_url=SITE) as stranger:
        refused = await stranger.get("/admin/console/rules")
        assert (refused.status_code, refused.headers["location"]) == (303, "/admin/console")


async def test_customer_words_are_shown_as_text_and_answered_as_the_employee(
    console: Console,
) -> None:
    ada = console.harness.customer("ada")
    await ada.says(CHARGED)
    await ada.says("<script>alert('x')</script> & <b>bold</b>")
    listed = await console.client.get("/admin/console/conversations", params={"q": "alert"})
    assert "#1</a>" in listed.text
    page = (await console.client.get("/admin/console/conversations/1")).text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "<script>alert" not in page
    assert "<b>bold" not in page
    assert "Routed" in page
    assert "refunds, invoices and subscriptions" in page
    assert "Answer as Priya Sharma (demo)" in page or "Answer as Tomás García (demo)" in page
    answered = await console.post("/admin/console/conversations/1/answer", {"text": "Refunded!"})
    assert answered.status_code == 303
    # Stored as the employee's reply, as a Slack reply is (the widget reads it from the
    # store: the browser test sees it arrive, named).
    async with console.harness.store.reading() as connection:
        found = await transcript(connection, 1)
    assert found is not None
    reply = found.messages[-1]
    assert (reply.author, reply.body) == ("employee", "Refunded!")
    assert reply.employee_id == found.conversation.employee_id
    page = (await console.client.get(answered.headers["location"])).text
    assert "Sent as the employee." in page
    forged = await console.client.post(
        "/admin/console/conversations/1/answer", data={"text": "x"}, headers=SAME_ORIGIN
    )
    assert forged.status_code == 403


async def test_rules_are_reordered_and_retargeted_and_applied_whole(console: Console) -> None:
    fields = await console.rules_form()
    assert fields["name.0"] == "VIPs to their manager"
    assert (fields["when.1"], fields["to.1"]) == (
        "intent: [refund, billing, cancel_subscription]",
        "team: billing",
    )
    fields.update({"order.0": "9", "to.1": "employee: samm", "action": "apply"})
    refused = await console.post("/admin/console/rules", fields)
    assert "unknown employee &#x27;samm&#x27;; did you mean &#x27;sam&#x27;?" in refused.text
    assert "rules edit:" in refused.text
    assert "rules[0].to.employee" in refused.text
    assert console.versions.version == 1  # nothing applied
    fields.update({"to.1": "employee: sam", "name.7": "greetings", "when.7": "intent: greet",
                   "to.7": "team: support"})  # fmt: skip
    applied = await console.post("/admin/console/rules", fields)
    assert applied.status_code == 303
    config = console.versions.config
    assert console.versions.version == 2
    assert [r.name for r in config.rules][:2] == ["refunds, invoices and subscriptions",
                                                  "German-speaking delivery questions"]  # fmt: skip
    assert [r.name for r in config.rules][-2:] == ["greetings", "VIPs to their manager"]
    assert config.rules[0].to.employee == "sam"
    text = (await console.versions.newest()).text  # type: ignore[union-attr]
    assert "# Who may sign in to the admin console" in text  # comments outside rules: kept
    unreadable = await console.post("/admin/console/rules", {**fields, "when.2": "intent: ["})
    assert "Rule 3: Matches is written like `intent: [refund, billing]`" in unreadable.text
    stale = await console.post("/admin/console/rules", {**fields, "base": "1"})
    assert "was applied since this page was opened" in stale.text


async def test_a_huge_paste_and_a_thousand_rules(console: Console) -> None:
    huge = await console.post("/admin/console/config", {"yaml": "x" * 5_000_000, "action": "apply"})
    assert huge.status_code == 413
    assert "Nothing was changed: the form is larger than" in huge.text
    many = "\n".join(
        f"  - {{name: rule {i}, when: {{customer_tag: t{i}}}, to: {{team: support}}}}"
        for i in range(1000)
    )
    text = TEXT.replace("rules:                           # first match wins",
                        f"rules:\n{many}", 1)  # fmt: skip
    applied = await console.post("/admin/console/config", {"yaml": text, "action": "apply",
                                                           "base": "1"})  # fmt: skip
    assert applied.status_code == 303
    page = await console.client.get("/admin/console/rules")
    assert page.text.count('<fieldset class="rule">') == 1008
    fields = await console.rules_form()
    fields.update({"remove.0": "1", "action": "check"})
    checked = await console.post("/admin/console/rules", fields)
    assert "The candidate is valid: 1006 rules, nothing applied yet." in checked.text
    assert console.versions.version == 2


async def test_the_playground_says_what_frontdesk_route_says(console: Console) -> None:
    shown = await console.post("/admin/console/playground", {"text": CHARGED, "channel": "web"})
    async with console.harness.store.reading() as connection:
        roster = await stored.roster(connection)
    expected = await dry_run(CHARGED, classify=console.harness.nlu, config=console.versions.config,
                             roster=roster, now=console.harness.clock())  # fmt: skip
    assert as_text(expected).replace("'", "&#x27;") in shown.text
    assert "Rule:      refunds, invoices and subscriptions" in shown.text


async def test_an_away_toggle_is_audited(console: Console) -> None:
    marked = await console.post("/admin/console/roster/priya/away", {"away": "1"})
    assert marked.status_code == 303
    roster = await console.client.get(marked.headers["location"])
    assert "Priya Sharma is away: no new conversations." in roster.text
    assert 'aria-label="Back: Priya Sharma"' in roster.text
    audit = (await console.client.get("/admin/console/audit")).text
    assert "employee.away" in audit
    assert "priya" in audit


async def test_the_roster_says_how_fast_each_person_usually_replies(console: Console) -> None:
    harness = console.harness
    await seed_replies(harness.store, "priya", [8, 9, 10, 11, 45], T0 - timedelta(days=2))
    page = (await console.client.get("/admin/console/roster")).text
    assert '<th scope="col">Usually replies</th>' in page
    async with harness.store.reading() as connection:
        people = await roster_rows(connection, console.versions.config, harness.clock())
    billing = ("Priya Sharma", "Tomás García")
    rows = {p["name"]: p["usually_replies_within"] for p in people if p["name"] in billing}
    assert rows == {"Priya Sharma": "about 10 minutes", "Tomás García": None}  # the API's
    priya, tomas = (page.split(f"<td>{name}</td>")[1].split("</tr>")[0] for name in billing)
    assert "<td>within about 10 minutes</td>" in priya
    assert "<td><small>not known: too few replies lately" in tomas


async def test_the_report_speaks_to_people_and_keeps_the_api_keys(console: Console) -> None:
    harness = console.harness
    await harness.customer("ada").says(CHARGED)  # the day before: the previous period
    for hours in (10, 5):  # into the next day, the session kept in use (12 h idle ends it)
        harness.clock.advance(hours=hours)
        await console.client.get("/admin/console/report")
    for name in ("bo", "cy"):
        await harness.customer(name).says(CHARGED)
    await harness.customer("di").says(ORDER)
    await harness.customer("ed").says("<img src=x onerror=alert(1)>")
    harness.clock.advance(minutes=1)
    day = {"from": "2026-11-24", "to": "2026-11-24"}
    page = (await console.client.get("/admin/console/report", params=day)).text
    topics = page.split('<h2 id="topics">')[1].split("</section>")[0]
    heads = re.findall(r'<th scope="col">([^<]*)</th>', topics)
    assert heads == ["Topic", "Conversations", "Previous period", "Change"]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td>", topics)
    assert ("billing", "2", "1", "+100.0%") in rows
    assert ("order_status", "1", "0", "new") in rows
    assert '<svg role="img" aria-labelledby="chart-topics-title chart-topics-desc"' in topics
    assert '<title id="chart-topics-title">Conversations per topic in this period</title>' in topics
    assert "the highest billing (2)" in topics
    assert 'class="unit">conversations</text>' in topics
    assert "period_start" not in page
    assert "change_percent" not in page
    assert "<img src=x" not in page  # what the bot did not understand, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # One day of volume is one bar: no chart, the table says it.
    assert "chart-volume" not in page
    assert page.count("as CSV</a>") == 11
    assert "format=csv&amp;part=topics" in page


async def test_the_home_page_says_who_works_who_waits_today_and_what_changed(
    console: Console,
) -> None:
    harness = console.harness  # T0 is a Monday, 10:00 UTC; everyone works around the clock
    await harness.customer("ada").says(CHARGED)  # last Monday, before this time of day
    await harness.customer("bo").says(ORDER)
    harness.clock.advance(hours=1)
    await harness.customer("fay").says(ORDER)  # last Monday, after it: not compared
    for _ in range(16):  # to this Monday 03:00, the session kept in use (12 h idle ends it)
        harness.clock.advance(hours=10)
        await console.client.get("/admin/console")
    harness.clock.advance(hours=7)
    for name in ("cy", "di"):
        await harness.customer(name).says(CHARGED)
    await harness.customer("ed").says("<script>x</script>")  # not understood: asked again
    await console.post("/admin/console/conversations/4/answer", {"text": "On it."})
    await console.post("/admin/console/roster/priya/away", {"away": "1"})
    harness.clock.advance(minutes=30)
    page = (await console.client.get("/admin/console")).text
    assert "Signed in as <strong>Sam Rivera</strong>" in page
    assert '<a href="/admin/console" aria-current=page>Home</a>' in page
    for link, title in [("roster", "At work now"), ("conversations", "Waiting for a first reply"),
                        ("report?by=day", "Today against last week"),
                        ("audit", "Latest changes")]:  # fmt: skip
        assert f'<a href="/admin/console/{link}">{title}</a>' in page
    working = page.split('id="at-work"')[1].split("</section>")[0]
    assert "11 of 11 at work; 10 can take a new conversation" in working
    assert "Priya Sharma (away)" in working
    waiting = page.split('id="waiting"')[1].split("</section>")[0]
    listed = re.findall(r"<tr><td>([^<]*)</td><td><a [^>]*>#(\d+)</a>", waiting)
    assert [n for _, n in listed] == ["1", "2", "3", "5"]  # oldest first; #4 answered
    assert listed[0][0] == "7 d 0 h"  # working time: around the clock here
    assert listed[-1][0] == "30 min"
    today = page.split('id="today"')[1].split("</section>")[0]
    assert "<strong>3</strong> conversations today until 10:30 UTC; 2 by then last Monday " \
        "(+50.0%)" in today  # fmt: skip
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td>", today)
    assert set(rows) == {("billing", "2", "1", "+100.0%"), ("order_status", "0", "1", "-100.0%"),
                         ("out_of_scope", "1", "0", "new")}  # fmt: skip
    latest = page.split('id="latest"')[1].split("</section>")[0]
    assert "employee.away" in latest
    assert "<script>x" not in page


def test_every_admin_api_route_is_described_by_openapi(tmp_path: Path) -> None:
    config = always_open_config(tmp_path)
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, RASA, None))
    described = describe()["paths"]
    mounted = {
        (method.lower(), re.sub(r"{(\w+):\w+}", r"{\1}", route.path))
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/admin/")
        and not route.path.startswith(NOT_API)
        for method in route.methods or () if method != "HEAD"
    }  # fmt: skip
    assert len(mounted) > 15
    missing = {(m, p) for m, p in mounted if m not in described.get(p, {})}
    assert missing == set()
    assert {(m, p) for p, ops in described.items() for m in ops} == mounted  # nothing stale
