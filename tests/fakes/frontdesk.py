"""Frontdesk itself, started for a test: the real app on a real port, with Slack
pointed at the local double and a config where everyone works around the clock."""

import re
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from bot.app import create_app
from bot.outbox import Clock
from bot.settings import Settings
from bot.store import Store
from bot.tables import utcnow
from tests.fakes.server import LocalServer, free_port
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).parent.parent.parent


def always_open_config(
    directory: Path, *, team_channel: str | None = None, photos: str | None = None, more: str = ""
) -> Path:
    """A config.yml file with every employee at work 24/7 (see always_open_text), and
    `more` sections after it."""
    path = directory / "config.yml"
    path.write_text(always_open_text(team_channel=team_channel, photos=photos) + more)
    return path


def always_open_text(*, team_channel: str | None = None, photos: str | None = None) -> str:
    """config.yml with every employee at work 24/7 and no escalation (results must not
    depend on the clock), optionally with the support team working in a Slack channel
    and photos served from `photos` (this machine cannot reach acme.example)."""
    text = re.sub(r"^escalation:.*\n", "", (ROOT / "config.yml").read_text(), flags=re.MULTILINE)
    if photos:
        text = text.replace("https://acme.example/team/", f"{photos}/photos/")
    text = re.sub(
        r"hours: \{timezone: ([^,]+),[^}]*\}",
        r'hours: {timezone: \1, mon-sun: "00:00-24:00"}',
        text,
    )
    if team_channel:
        text = text.replace(
            "{id: support, name: Customer Support, slack_channel: null}",
            f"{{id: support, name: Customer Support, slack_channel: {team_channel}}}",
        )
    return text


def settings_for(database_url: str, config: Path, rasa_url: str, slack_url: str | None) -> Settings:
    return Settings(
        home=ROOT / ".frontdesk",
        config_path=config,
        database_url=database_url,
        rasa_urls=(rasa_url,),
        slack_bot_token=BOT_TOKEN if slack_url else None,
        slack_signing_secret=SIGNING_SECRET if slack_url else None,
        slack_api_url=f"{slack_url}/api/" if slack_url else "https://slack.invalid/api/",
        admin_token="admin-secret",
    )


class Frontdesk:
    """`async with Frontdesk(settings) as app:` runs it; `app.restart(...)` swaps settings."""

    def __init__(self, settings: Settings, port: int | None = None, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock  # what the app takes for now
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: LocalServer | None = None
        self.store = Store(settings.database_url)

    async def start(self) -> None:
        app = create_app(self.settings, clock=self.clock)
        self.runtime = app.state.runtime
        app.state.runtime.outbox.poll = 0.2
        self.server = LocalServer(app, self.port)
        await self.server.__aenter__()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.__aexit__(None, None, None)
            self.server = None

    async def restart(self, **changes: object) -> None:
        await self.stop()
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        await self.start()

    async def __aenter__(self) -> "Frontdesk":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        await self.store.close()
