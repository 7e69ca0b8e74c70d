"""Routing decisions per second with 1,000 employees in 50 teams and 200 rules."""

import random
import time
from datetime import UTC, datetime, timedelta

from benchmarks.report import latencies, line
from routing import EmployeeState, RoutingConfig, RoutingRequest, route

EMPLOYEES = 1000
TEAMS = 50
RULES = 200
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "America/Los_Angeles"]


def config() -> RoutingConfig:
    rng = random.Random(1)
    return RoutingConfig.model_validate(
        {
            "company": {"name": "Bench", "bot_name": "Bench bot"},
            "teams": [{"id": f"t{i}", "name": f"Team {i}"} for i in range(TEAMS)],
            "employees": [
                {
                    "id": f"e{i}",
                    "name": f"Employee {i}",
                    "title": "Agent",
                    "slack_user_id": f"U{i:08d}",
                    "teams": [f"t{i % TEAMS}"],
                    "languages": ["en", rng.choice(["de", "fr", "es", "ja"])],
                    "max_open": 5,
                    "hours": {
                        "timezone": rng.choice(ZONES),
                        "mon-fri": "08:00-18:00",
                        "sat": "22:00-06:00",
                    },
                }
                for i in range(EMPLOYEES)
            ],
            "rules": [
                {
                    "name": f"rule {i}",
                    "when": {
                        "intent": [f"intent{i}"],
                        "channel": ["web", "telegram"][i % 2 :] or ["web"],
                    },
                    "to": {"employee": f"e{i}"} if i % 10 == 0 else {"team": f"t{i % TEAMS}"},
                }
                for i in range(RULES)
            ],
            "fallback": {"team": "t0"},
        }
    )


def run(seconds: float = 3.0) -> None:
    rng = random.Random(2)
    cfg = config()
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    roster = {
        f"e{i}": EmployeeState(
            open_conversations=rng.randint(0, 6),
            away=rng.random() < 0.05,
            last_assigned_at=now - timedelta(minutes=rng.randint(1, 600)),
        )
        for i in range(EMPLOYEES)
    }
    requests = [
        RoutingRequest(
            channel=rng.choice(["web", "telegram"]),
            intent=f"intent{rng.randrange(RULES + 20)}",  # some match no rule
            language=rng.choice([None, "en", "de"]),
            previous_employee=rng.choice([None, f"e{rng.randrange(EMPLOYEES)}"]),
        )
        for _ in range(500)
    ]
    print(f"Routing: {EMPLOYEES} employees in {TEAMS} teams, {RULES} rules")
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for request in requests:
            start = time.perf_counter()
            route(request, roster, cfg, now)
            samples.append(time.perf_counter() - start)
    line("decisions/s (one core)", len(samples) / sum(samples), "/s")
    latencies("decision", samples, scale=1e6, unit="µs")
