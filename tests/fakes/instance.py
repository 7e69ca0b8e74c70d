"""`frontdesk serve` as a container runs it: a real process on its own port, configured
by its environment only, which a test can wait for, kill (SIGKILL) or stop."""

import asyncio
import signal
import sys
from pathlib import Path

import httpx

from nlu.server import end
from tests.fakes.server import free_port

FRONTDESK = str(Path(sys.executable).parent / "frontdesk")


class Instance:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log  # its stdout and stderr
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                FRONTDESK, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                env=self.env, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
            )  # fmt: skip

    async def healthy(self, expected: dict[str, str], timeout: float = 60) -> None:
        """Wait until /healthz answers `expected`; fail at once, with the end of its
        log, if the process exits first."""
        async with httpx.AsyncClient() as client, asyncio.timeout(timeout):
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name} exited:\n{self.tail()}")
                try:
                    response = await client.get(f"{self.url}/healthz")
                    if response.status_code == 200 and response.json() == expected:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no lease given back, sockets cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None:
            await end(self.process, grace=20)
