"""Everything one measurement needs, each in its own process: the Slack double, the NLU
(a stub that answers at once, a stub that hangs, or a real Rasa server's URL) and the
app, on a given database. Logs go to .frontdesk/logs/bench/ for a look afterwards."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks import desk_config
from benchmarks.app import App
from benchmarks.process import ROOT, Process
from benchmarks.slack_double import SlackDouble
from benchmarks.usage import Meter

LOGS = ROOT / ".frontdesk" / "logs" / "bench"


@dataclass(frozen=True)
class Stage:
    app: App
    slack: SlackDouble
    slack_pid: int
    nlu_pid: int | None  # None: a Rasa server the bench does not own here

    def meter(self, **others: int) -> Meter:
        """CPU of every process in play; "clients" is the bench itself."""
        pids = {"app": self.app.pid, "Slack double": self.slack_pid}
        if self.nlu_pid is not None:
            pids["NLU stub"] = self.nlu_pid
        return Meter({**pids, **others, "clients": os.getpid()})


def log_file(name: str) -> Path:
    path = LOGS / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


@contextlib.asynccontextmanager
async def stage(
    name: str, database_url: str, *, rasa_url: str | None = None, hang: bool = False
) -> AsyncIterator[Stage]:
    """With no `rasa_url`, a stub NLU is started (one that never answers if `hang`)."""
    async with contextlib.AsyncExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fd-bench-")))
        config = desk_config.write(scratch / "config.yml")
        double = Process.module("benchmarks.slack_double", log_file=log_file(f"{name}-slack"))
        await stack.enter_async_context(double)
        nlu_pid = None
        if rasa_url is None:
            stub = Process.module(
                "benchmarks.stub_rasa",
                *(["--hang"] if hang else []),
                log_file=log_file(f"{name}-nlu"),
            )
            await stack.enter_async_context(stub)
            rasa_url, nlu_pid = stub.url, stub.pid
        slack = SlackDouble(double.url)
        stack.push_async_callback(slack.aclose)
        app = App(
            config=config,
            database_url=database_url,
            rasa_url=rasa_url,
            slack_api_url=slack.api,
            log_file=log_file(f"{name}-app"),
        )
        await stack.enter_async_context(app)
        yield Stage(app, slack, double.pid, nlu_pid)
