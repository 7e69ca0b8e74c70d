"""A supervised `rasa run` child process: started, health-checked, restarted if it
dies, stopped with its owner."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import secrets
import signal
import socket
import sys
from pathlib import Path
from types import TracebackType

from nlu.client import RasaClassifier
from nlu.environment import RasaEnvironment
from nlu.errors import RasaSetupError

log = logging.getLogger(__name__)

_RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


class RasaServer:
    """One Rasa server process bound to a local port, with a random auth token.

    Rasa checks the token only as a `?token=` query parameter, which `url` carries."""

    def __init__(
        self,
        env: RasaEnvironment,
        model: Path,
        *,
        log_file: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        ready_timeout: float = 300.0,
    ) -> None:
        self.env = env
        self.model = model
        self.log_file = log_file
        self.host = host
        self.port = port or _free_port(host)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.ready_timeout = ready_timeout
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        base = f"http://{self.host}:{self.port}"
        return f"{base}?token={self.token}" if self.token else base

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the process and wait until it parses; raises RasaSetupError if it
        exits or is not ready within `ready_timeout` seconds."""
        self._stopping = False
        await self._spawn()
        await self.wait_ready()
        self._supervisor = asyncio.create_task(self._supervise(), name="rasa-supervisor")

    async def wait_ready(self) -> None:
        client = RasaClassifier([self.url], timeout=5.0)
        try:
            async with asyncio.timeout(self.ready_timeout):
                while not await client.ready():
                    if self._process is None or self._process.returncode is not None:
                        message = f"the Rasa server exited during start-up; see {self.log_file}"
                        raise RasaSetupError(message)
                    await asyncio.sleep(0.5)
                await client.classify("hello")  # the first parse builds TF graphs
        except TimeoutError:
            message = f"the Rasa server was not ready after {self.ready_timeout:.0f} s"
            raise RasaSetupError(f"{message}; see {self.log_file}") from None
        finally:
            await client.aclose()

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        process, self._process = self._process, None
        if process is not None:
            await end(process, grace=10)

    async def __aenter__(self) -> RasaServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _spawn(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.env.python), "-m", "rasa", "run", "--enable-api",
            "--model", str(self.model), "-i", self.host, "-p", str(self.port),
        ]  # fmt: skip
        if self.token:  # one word: a token may begin with "-", which Rasa's argparse
            command.append(f"--auth-token={self.token}")  # would take for an option
        with self.log_file.open("ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env.env(),
                preexec_fn=die_with_parent,
            )
        log.info("rasa server started", extra={"pid": self._process.pid, "port": self.port})

    async def _supervise(self) -> None:
        """Restart the server whenever it exits unasked, backing off between tries."""
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            delay = _RESTART_DELAYS[min(self.restarts, len(_RESTART_DELAYS) - 1)]
            log.warning(
                "rasa server exited; restarting", extra={"exit_code": code, "delay_s": delay}
            )
            self.restarts += 1
            await asyncio.sleep(delay)
            try:
                await self._spawn()
                await self.wait_ready()
            except RasaSetupError:
                log.exception("rasa server restart failed")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def die_with_parent() -> None:
    """Ask Linux to stop the child if we die without cleaning up (PR_SET_PDEATHSIG)."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


async def end(process: asyncio.subprocess.Process, grace: float) -> None:
    """Ask a child process to stop (SIGTERM); kill it if it has not within `grace` s."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
