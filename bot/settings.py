"""Settings, read from the environment only (README lists every variable)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nlu.training import RasaProject
from routing import RoutingConfig, load_config, parse_config

SLACK_API = "https://slack.com/api/"
TELEGRAM_API = "https://api.telegram.org"


@dataclass(frozen=True)
class Settings:
    home: Path  # FRONTDESK_HOME: Rasa venv, models, logs, default SQLite file
    config_path: Path  # FRONTDESK_CONFIG
    database_url: str  # DATABASE_URL
    rasa_urls: tuple[str, ...]  # RASA_URL, comma-separated; empty: a managed server
    slack_bot_token: str | None = None  # SLACK_BOT_TOKEN
    slack_signing_secret: str | None = None  # SLACK_SIGNING_SECRET
    slack_app_token: str | None = None  # SLACK_APP_TOKEN: Socket Mode
    slack_api_url: str = SLACK_API  # SLACK_API_URL
    telegram_bot_token: str | None = None  # TELEGRAM_BOT_TOKEN
    telegram_webhook_secret: str | None = None  # TELEGRAM_WEBHOOK_SECRET
    telegram_api_url: str = TELEGRAM_API  # TELEGRAM_API_URL
    public_url: str | None = None  # FRONTDESK_PUBLIC_URL: where Telegram can reach us
    admin_token: str | None = None  # FRONTDESK_ADMIN_TOKEN
    allowed_origins: tuple[str, ...] = ()  # FRONTDESK_ALLOWED_ORIGINS; empty: our own
    widget_secret: str | None = None  # FRONTDESK_WIDGET_SECRET: verified widget identities

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str) -> str | None:
            return environ.get(name) or None

        def listed(name: str) -> tuple[str, ...]:
            return tuple(item.strip() for item in (get(name) or "").split(",") if item.strip())

        home = Path(get("FRONTDESK_HOME") or ".frontdesk")
        return cls(
            home=home,
            config_path=Path(get("FRONTDESK_CONFIG") or "config.yml"),
            database_url=get("DATABASE_URL") or f"sqlite:///{home / 'frontdesk.db'}",
            rasa_urls=listed("RASA_URL"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL") or SLACK_API,
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_url=get("TELEGRAM_API_URL") or TELEGRAM_API,
            public_url=get("FRONTDESK_PUBLIC_URL"),
            admin_token=get("FRONTDESK_ADMIN_TOKEN"),
            allowed_origins=tuple(o.rstrip("/") for o in listed("FRONTDESK_ALLOWED_ORIGINS")),
            widget_secret=get("FRONTDESK_WIDGET_SECRET"),
        )

    @property
    def slack_connected(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )


def load_routing_config(path: Path, project: RasaProject | None = None) -> RoutingConfig:
    """Load config.yml, checking intents and entities against the NLU project."""
    project = project or RasaProject()
    return load_config(path, intents=project.intents(), entities=project.entities())


def check_routing_config(text: str, source: str) -> RoutingConfig:
    """Check config text as load_routing_config checks a file (`source` names it in
    errors): a version stored in the database, or a candidate from the admin API."""
    project = RasaProject()
    return parse_config(text, source, intents=project.intents(), entities=project.entities())
