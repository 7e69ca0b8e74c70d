"""The config.yml the app runs with in the bench: the shipped company, triage and teams,
with 1,000 employees at work around the clock, spread over its teams (as a company
that size has them) and each reached in a DM of their own, and no abuse limits. Slack
takes about one post a second per channel, so a busy desk is many people, not one
channel; spread this way no conversation waits for the pacer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchmarks.process import ROOT
from bot.settings import load_routing_config

EMPLOYEES = 1000


def slack_user(index: int) -> str:
    return f"U{index:07d}"


def write(path: Path, employees: int = EMPLOYEES) -> Path:
    """Write the config to `path`, checked as `frontdesk check-config` checks it."""
    shipped: dict[str, Any] = yaml.safe_load((ROOT / "config.yml").read_text())
    teams = [{**team, "slack_channel": None} for team in shipped["teams"]]
    team_ids = [team["id"] for team in teams]
    config = {
        "company": shipped["company"],
        "triage": shipped["triage"],
        "teams": teams,
        "employees": [
            {
                "id": f"e{i:04d}",
                "name": f"Employee {i}",
                "title": "Customer specialist",
                "photo_url": f"https://acme.example/team/e{i:04d}.jpg",
                "slack_user_id": slack_user(i),
                "teams": [team_ids[i % len(team_ids)]],
                "languages": ["en"],
                "max_open": 5,
                "hours": {"timezone": "UTC", "mon-sun": "00:00-24:00"},
            }
            for i in range(1, employees + 1)
        ],
        # The shipped rules that name a team; those naming one person would pile every
        # conversation of their kind into that person's DM.
        "rules": [rule for rule in shipped["rules"] if "team" in rule["to"]],
        "fallback": shipped["fallback"],
        # Every simulated visitor comes from 127.0.0.1 and writes as fast as the bench
        # drives it: the abuse limits would measure themselves, not the app.
        "limits": {
            "messages_per_minute": 1_000_000,
            "message_burst": 1_000_000,
            "address_messages_per_minute": 1_000_000,
            "sockets_per_address": 1_000_000,
            "new_visitors_per_minute": 1_000_000,
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    load_routing_config(path)  # raises ConfigError naming the line, as check-config does
    return path
