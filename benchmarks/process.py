"""A process the bench starts (the app, the Slack double, the stub NLU): on a free local
port, its output in a log file, stopped with the bench even if the bench dies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from nlu.server import die_with_parent, end
from tests.fakes.server import free_port

ROOT = Path(__file__).resolve().parent.parent


class Process:
    def __init__(
        self,
        command: Sequence[str],
        log_file: Path,
        *,
        port: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command = list(command)
        self.log_file = log_file
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(env if env is not None else os.environ)
        self._process: asyncio.subprocess.Process | None = None

    @classmethod
    def module(cls, module: str, *args: str, log_file: Path) -> Process:
        """`python -m module --port P args...` with this interpreter."""
        port = free_port()
        command = [sys.executable, "-m", module, "--port", str(port), *args]
        return cls(command, log_file, port=port, env={**os.environ, "PYTHONPATH": str(ROOT)})

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    async def start(self, patience: float = 30.0) -> None:
        """Start it and wait until its port accepts connections."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                preexec_fn=die_with_parent,
            )
        async with asyncio.timeout(patience):
            while True:
                self.check()
                with contextlib.suppress(OSError):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    return
                await asyncio.sleep(0.1)

    def check(self) -> None:
        """Raise if the process has exited."""
        if self._process is not None and self._process.returncode is not None:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.command[0]} exited early; its log ends:\n{tail}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            await end(process, grace=15)

    async def __aenter__(self) -> Process:
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
