"""Config versions, sign-in links, sessions and the audit log, in memory: the real
parts (versions, sign-in, the guard, the config API, the console's front door) on a
temporary SQLite file with a clock the test moves, called through ASGI."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from bot.access import Access
from bot.admin_console import AdminConsole
from bot.config_api import ConfigApi
from bot.config_versions import ConfigVersions
from bot.console_home import HomePage
from bot.news import News
from bot.settings import check_routing_config
from bot.sign_in import COOKIE, Refused, SignIn
from bot.store import Store
from tests.fakes.frontdesk import always_open_text
from tests.fakes.harness import Clock

BEARER = {"Authorization": "Bearer admin-secret"}
SITE = "http://frontdesk.test"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": SITE}
TEXT = always_open_text()  # admins: [sam]


@dataclass
class Console:
    versions: ConfigVersions
    sign_in: SignIn
    clock: Clock
    client: httpx.AsyncClient
    path: Path

    async def link(self, employee_id: str = "sam") -> str:
        return await self.sign_in.link(employee_id)

    async def signs_in(self, token: str) -> httpx.Response:
        """Open the link, then press its button, as a browser does."""
        opened = await self.client.get("/admin/sign-in", params={"token": token})
        if opened.status_code != 200:
            return opened
        return await self.client.post("/admin/sign-in", data={"token": token}, headers=SAME_ORIGIN)

    async def csrf(self) -> str:
        """The CSRF token, as a console page hands it to its forms."""
        home = (await self.client.get("/admin/console")).text
        return home.split('name="csrf" value="')[1].split('"')[0]

    async def audit(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = (
            await self.client.get("/admin/audit", headers=BEARER)
        ).json()["entries"]
        return entries


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    store = Store(f"sqlite:///{tmp_path / 'frontdesk.db'}")
    await store.upgrade()
    path = tmp_path / "config.yml"
    path.write_text(TEXT)
    clock = Clock()
    versions = ConfigVersions(store, News(store), check_routing_config(TEXT, "x"), clock=clock)
    await versions.adopt_file(path)
    sign_in = SignIn(store, versions.current, clock)
    access = Access("admin-secret", sign_in, SITE)
    app = Starlette(
        routes=[
            *ConfigApi(versions, access.guard, path).routes(),
            *AdminConsole(access).routes(),
            *HomePage(access, versions, store, clock).routes(),
        ]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        yield Console(versions, sign_in, clock, client, path)
    await store.close()


async def test_the_file_seeds_version_1_once(console: Console) -> None:
    assert await console.versions.adopt_file(console.path) is None  # a second start
    listed = (await console.client.get("/admin/config/versions", headers=BEARER)).json()
    assert [(v["id"], v["author"], v["current"]) for v in listed["versions"]] == [
        (1, "config.yml", True)
    ]
    edited = TEXT.replace("title: Billing specialist", "title: Head of Billing")
    console.path.write_text(edited)
    applied = await console.versions.adopt_file(console.path)  # a restart after an edit
    assert applied is not None
    assert applied.version.id == 2
    assert console.versions.config.employee("priya").title == "Head of Billing"


async def test_a_candidate_is_checked_with_line_and_key_and_nothing_stored(
    console: Console,
) -> None:
    broken = TEXT.replace("max_open: 6", "max_open: many", 1)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "max_open: many" in text)
    checked = await console.client.post(
        "/admin/config/validate", json={"text": broken, "name": "rules edit"}, headers=BEARER
    )
    [problem] = checked.json()["problems"]
    assert checked.json()["valid"] is False
    assert (problem["line"], problem["key"]) == (line, "employees[0].max_open")
    assert problem["text"].startswith(f"rules edit:{line}: employees[0].max_open: ")
    refused = await console.client.post(
        "/admin/config/versions", json={"text": broken}, headers=BEARER
    )
    assert refused.status_code == 400
    assert refused.json()["problems"][0]["line"] == line
    unknown = TEXT.replace("to: {employee: sam}", "to: {employee: samm}", 1)
    problems = (
        await console.client.post("/admin/config/validate", json={"text": unknown}, headers=BEARER)
    ).json()["problems"]
    assert [p["message"] for p in problems] == ["unknown employee 'samm'; did you mean 'sam'?"]
    listed = (await console.client.get("/admin/config/versions", headers=BEARER)).json()
    assert (listed["current"], len(listed["versions"])) == (1, 1)
    assert console.versions.config.employee("priya").max_open == 6


async def test_a_5_mb_paste_is_refused_whole(console: Console) -> None:
    huge = TEXT + "#" * (5 * 1024 * 1024)
    refused = await console.client.post(
        "/admin/config/versions",
        content=huge,
        headers={**BEARER, "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 413
    assert console.versions.version == 1


async def test_apply_then_restore_with_the_audit_trail(console: Console) -> None:
    edited = TEXT.replace("title: Billing specialist", "title: Head of Billing")
    applied = await console.client.post(
        "/admin/config/versions", json={"text": edited, "comment": "new title"}, headers=BEARER
    )
    assert applied.status_code == 201
    assert applied.json()["version"]["id"] == 2
    assert console.versions.config.employee("priya").title == "Head of Billing"
    again = await console.client.post(
        "/admin/config/versions", json={"text": edited}, headers=BEARER
    )
    assert (again.status_code, again.json()["changed"]) == (200, False)
    restored = await console.client.post("/admin/config/versions/1/restore", headers=BEARER)
    assert restored.json()["version"] | {"created_at": None} == {
        "id": 3, "author": "token", "comment": "restored version 1", "restored_from": 1,
        "created_at": None, "current": True,
    }  # fmt: skip
    assert console.versions.config.employee("priya").title == "Billing specialist"
    exported = (await console.client.get("/admin/config/versions/3", headers=BEARER)).json()
    assert exported["text"] == TEXT
    missing = await console.client.post("/admin/config/versions/9/restore", headers=BEARER)
    assert missing.status_code == 404
    entries = await console.audit()
    assert [(e["actor"], e["action"], e["before"], e["after"]["version"]) for e in entries] == [
        ("token", "config.restore", {"version": 2}, 3),
        ("token", "config.apply", {"version": 1}, 2),
        ("config.yml", "config.apply", None, 1),
    ]
    diff = entries[1]["after"]["diff"].splitlines()
    assert diff[1:] == ["-    title: Billing specialist", "+    title: Head of Billing"]
    assert diff[0].startswith("@@ -")


async def test_reload_applies_the_file_as_a_new_version(console: Console) -> None:
    console.path.write_text(TEXT.replace("max_open: 6", "max_open: 7", 1))
    reloaded = (await console.client.post("/admin/config/reload", headers=BEARER)).json()
    assert (reloaded["reloaded"], reloaded["version"], reloaded["changed"]) == (True, 2, True)
    assert console.versions.config.employee("priya").max_open == 7


async def test_an_admin_signs_in_once_and_acts_with_the_csrf_token(console: Console) -> None:
    token = await console.link("sam")
    opened = await console.client.get("/admin/sign-in", params={"token": token})
    assert "Sign in as Sam Rivera" in opened.text  # opening the link spends nothing
    entered = await console.signs_in(token)
    assert (entered.status_code, entered.headers["location"]) == (303, "/admin/console")
    cookie = entered.headers["set-cookie"]
    assert {"HttpOnly", "SameSite=strict", "Path=/admin"} <= set(cookie.split("; "))
    assert "Secure" not in cookie  # http://frontdesk.test
    home = await console.client.get("/admin/console")
    assert "Signed in as <strong>Sam Rivera</strong>" in home.text
    edited = TEXT.replace("max_open: 6", "max_open: 8", 1)
    applied = await console.client.post(
        "/admin/config/versions",
        json={"text": edited},
        headers={**SAME_ORIGIN, "X-CSRF-Token": await console.csrf()},
    )
    assert applied.status_code == 201
    assert applied.json()["version"]["author"] == "sam"
    reused = await console.signs_in(token)
    assert reused.status_code == 403
    assert "used already" in reused.text
    await console.client.post("/admin/sign-out", data={"csrf": await console.csrf()},
                              headers=SAME_ORIGIN)  # fmt: skip
    assert (await console.client.get("/admin/config", headers={})).status_code == 401
    actions = [(e["actor"], e["action"]) for e in await console.audit()]
    assert actions[:3] == [("sam", "sign_out"), ("sam", "config.apply"), ("sam", "sign_in")]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Sec-Fetch-Site": "same-origin"}, "CSRF token"),  # no token
        ({"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "guess"}, "CSRF token"),
        ({"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "TOKEN"}, "cross-site"),
        ({"Origin": "https://evil.example", "X-CSRF-Token": "TOKEN"}, "evil.example"),
    ],
)
async def test_a_forged_request_is_refused(
    console: Console, headers: dict[str, str], why: str
) -> None:
    await console.signs_in(await console.link("sam"))
    csrf = await console.csrf()
    headers = {k: v.replace("TOKEN", csrf) for k, v in headers.items()}
    edited = TEXT.replace("max_open: 6", "max_open: 8", 1)
    refused = await console.client.post(
        "/admin/config/versions", json={"text": edited}, headers=headers
    )
    assert refused.status_code == 403
    assert why in refused.json()["error"]
    assert console.versions.version == 1


async def test_the_bearer_token_needs_no_csrf_token(console: Console) -> None:
    edited = TEXT.replace("max_open: 6", "max_open: 8", 1)
    applied = await console.client.post(
        "/admin/config/versions", json={"text": edited},
        headers={**BEARER, "Sec-Fetch-Site": "cross-site"},
    )  # fmt: skip
    assert applied.status_code == 201
    wrong = await console.client.get("/admin/config", headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401


async def test_a_link_expires_after_ten_minutes(console: Console) -> None:
    token = await console.link("sam")
    console.clock.advance(minutes=10, seconds=1)
    expired = await console.signs_in(token)
    assert expired.status_code == 403
    assert "expired" in expired.text
    pressed = await console.client.post(
        "/admin/sign-in", data={"token": token}, headers=SAME_ORIGIN
    )
    assert pressed.status_code == 403
    assert COOKIE not in pressed.headers.get("set-cookie", "")


async def test_a_session_ends_after_twelve_idle_hours(console: Console) -> None:
    await console.signs_in(await console.link("sam"))
    console.clock.advance(hours=11)
    assert (await console.client.get("/admin/config")).status_code == 200
    console.clock.advance(hours=11)  # seen 11 hours ago: still idle less than 12
    assert (await console.client.get("/admin/config")).status_code == 200
    console.clock.advance(hours=12)
    assert (await console.client.get("/admin/config")).status_code == 401


async def test_a_non_admin_gets_no_link_and_a_demoted_admin_no_session(console: Console) -> None:
    with pytest.raises(Refused, match="Priya Sharma is not an admin"):
        await console.link("priya")
    token = await console.link("sam")
    await console.versions.apply(TEXT.replace("admins: [sam]", "admins: [priya]"), "x", "token")
    refused = await console.signs_in(token)
    assert refused.status_code == 403
    assert "Sam Rivera is not an admin" in refused.text
    assert (await console.client.get("/admin/console")).status_code == 401


async def test_a_cross_site_sign_in_is_refused(console: Console) -> None:
    token = await console.link("sam")
    forged = await console.client.post(
        "/admin/sign-in", data={"token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status_code == 403
    assert (await console.signs_in(token)).status_code == 303  # the link is still good


def test_signed_in_links_carry_the_token_in_the_query() -> None:
    from bot.sign_in import link_url

    url = link_url("https://desk.acme.example/", "abc")
    assert urlsplit(url).path == "/admin/sign-in"
    assert parse_qs(urlsplit(url).query) == {"token": ["abc"]}
