"""Frontdesk as a user runs it: `frontdesk serve` in a process of its own, configured
only through its environment, so that its CPU and memory can be read from /proc
apart from everything else on the machine."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType

import httpx

from benchmarks.process import ROOT, Process
from benchmarks.usage import cpu_seconds, rss_mib
from tests.fakes.server import free_port
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET

# The page the widget is embedded in, as the WebSocket's Origin header gives it.
ORIGIN = "http://shop.bench.example"
# Variables the bench sets itself; a developer's own values must not leak in.
_OURS = ("FRONTDESK_", "SLACK_", "TELEGRAM_", "DATABASE_URL", "RASA_URL")


class App:
    def __init__(
        self,
        *,
        config: Path,
        database_url: str,
        rasa_url: str,
        slack_api_url: str,
        log_file: Path,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        env |= {
            "FRONTDESK_CONFIG": str(config),
            "DATABASE_URL": database_url,
            "RASA_URL": rasa_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "FRONTDESK_HOME": str(ROOT / ".frontdesk"),  # where the models are
            "FRONTDESK_ALLOWED_ORIGINS": ORIGIN,
            "PYTHONPATH": str(ROOT),  # the same tree as the bench, installed or not
        }
        port = free_port()
        frontdesk = Path(sys.executable).with_name("frontdesk")
        command = [str(frontdesk), "serve", "--port", str(port)]
        self.process = Process(command, log_file, port=port, env=env)
        self.url = self.process.url
        self.log_file = log_file

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    async def start(self, patience: float = 120.0) -> None:
        """Start it and wait until /healthz says the NLU is ready."""
        await self.process.start(patience)
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            async with asyncio.timeout(patience):
                while True:
                    self.process.check()
                    response = await http.get("/healthz")
                    if response.status_code == 200 and response.json().get("nlu") == "ready":
                        return
                    await asyncio.sleep(0.1)

    async def stop(self) -> None:
        await self.process.stop()

    def problems(self) -> str:
        """What the app logged at warning or above, counted by event (for the report:
        a quiet log is part of a good run)."""
        found: Counter[str] = Counter()
        if not self.log_file.exists():
            return "no log"
        for row in self.log_file.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(row)
            except ValueError:
                # Start-up progress is plain text; a traceback printed raw is a problem.
                if any(word in row for word in ("Traceback", "Error", "Exception")):
                    found[f"(not JSON) {row[:80]}"] += 1
                continue
            if not isinstance(entry, dict):
                continue
            if entry.get("level") in ("warning", "error", "critical"):
                event = str(entry.get("event", "")).strip()
                found[f"{entry['level']}: {event}"[:100] + _cause(entry.get("error"))] += 1
        if not found:
            return "no warnings or errors"
        return "; ".join(f"{event} x{n}" for event, n in found.most_common(4))

    async def __aenter__(self) -> App:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _cause(error: object) -> str:
    """The exception a logged traceback ends in, shortened: "(ValueError: ...)"."""
    if not isinstance(error, str):
        return ""
    skip = ("[", "(", "Traceback", "The above exception", "During handling")
    lines = [row for row in error.splitlines() if row and not row[0].isspace()]
    lines = [row for row in lines if not row.startswith(skip)]
    return f" ({lines[-1][:140]})" if lines else ""
