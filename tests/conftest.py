"""Shared fixtures: a database URL for each backend under test, the real Rasa server
or its double, the Slack double, and the app itself."""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.store import async_url
from nlu.service import NluService
from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import LocalServer
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).parent.parent


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database created on
    the server in TEST_DATABASE_URL (skipped when that is unset)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'frontdesk.db'}"
        return
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with PostgresDatabase(admin_url) as url:
        yield url


class PostgresDatabase:
    """Create a throwaway database next to the one in `admin_url`; drop it after."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.replace("postgresql+asyncpg://", "postgresql://")
        self.name = f"frontdesk_test_{secrets.token_hex(6)}"

    async def __aenter__(self) -> str:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()
        base, _, _ = async_url(self.admin_url).rpartition("/")
        return f"{base}/{self.name}"

    async def __aexit__(self, *exc: object) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture(scope="session")
async def nlu_service() -> AsyncIterator[NluService]:
    """The real Rasa server with the shipped model, started once for the whole run
    (RASA_URL, if set, points at servers started elsewhere instead). Only tests about
    what the model does end to end use it; the others talk to `fake_rasa`."""
    urls = [url for url in os.environ.get("RASA_URL", "").split(",") if url]
    home = Path(os.environ.get("FRONTDESK_HOME", ROOT / ".frontdesk"))
    service = NluService(urls=urls, home=home, progress=print, timeout=30.0)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="session")
def rasa_url(nlu_service: NluService) -> str:
    return nlu_service.server.url if nlu_service.server else ",".join(nlu_service.urls)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`-m "not rasa"` leaves out the tests that start the real Rasa server."""
    for item in items:
        if "nlu_service" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.rasa)


@pytest.fixture(scope="session")
async def rasa_double() -> AsyncIterator[FakeRasa]:
    """The Rasa double, served on 127.0.0.1 for the whole run (tests use `fake_rasa`)."""
    fake = FakeRasa()
    async with LocalServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def fake_rasa(rasa_double: FakeRasa) -> Iterator[FakeRasa]:
    """The Rasa double as one test sees it: what it is asked is recorded afresh, texts
    the test adds to its table are gone after, and a text missing from the table fails
    the test, naming the text."""
    table, otherwise = dict(rasa_double.meanings), rasa_double.otherwise
    rasa_double.asked.clear()
    rasa_double.unknown.clear()
    yield rasa_double
    rasa_double.meanings, rasa_double.otherwise = table, otherwise
    assert not rasa_double.unknown, f"not in tests/fakes/rasa.py MEANINGS: {rasa_double.unknown}"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The Slack Web API double, served on 127.0.0.1."""
    fake = FakeSlack()
    async with LocalServer(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The Telegram Bot API double, served on 127.0.0.1."""
    fake = FakeTelegram()
    async with LocalServer(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
async def frontdesk(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> AsyncIterator[Frontdesk]:
    """The app on SQLite, the NLU and Slack pointed at the doubles, everyone at work."""
    async with running(tmp_path, fake_rasa.url, slack) as app:
        yield app


@pytest.fixture
async def frontdesk_with_rasa(
    tmp_path: Path, rasa_url: str, slack: FakeSlack
) -> AsyncIterator[Frontdesk]:
    """`frontdesk` with the real Rasa server: for what the shipped model does end to end."""
    async with running(tmp_path, rasa_url, slack) as app:
        yield app


def running(tmp_path: Path, nlu_url: str, slack: FakeSlack) -> Frontdesk:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'fd.db'}", always_open_config(tmp_path), nlu_url, slack.url
    )
    return Frontdesk(settings)


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 20.0) -> object:
    """Poll `check` until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.05)
    return result
