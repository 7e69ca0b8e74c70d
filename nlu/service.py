"""The classifier an application uses: external Rasa servers when URLs are given,
otherwise a managed one (venv made, model trained if its data changed, server
started and supervised, stopped on exit)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from nlu.client import RasaClassifier
from nlu.environment import Progress, RasaEnvironment
from nlu.server import RasaServer
from nlu.training import RasaProject


class NluService:
    def __init__(
        self,
        *,
        urls: Sequence[str],
        home: Path,
        progress: Progress,
        project: RasaProject | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.urls = list(urls)
        self.home = home
        self.progress = progress
        self.project = project or RasaProject()
        self.timeout = timeout
        self.server: RasaServer | None = None
        self._classifier: RasaClassifier | None = None

    @property
    def managed(self) -> bool:
        return not self.urls

    @property
    def classifier(self) -> RasaClassifier:
        if self._classifier is None:
            raise RuntimeError("NluService.start() has not finished")
        return self._classifier

    async def start(self) -> RasaClassifier:
        if self.urls:
            self._classifier = RasaClassifier(self.urls, timeout=self.timeout)
            return self._classifier
        model = await asyncio.to_thread(prepare_model, self.home, self.project, self.progress)
        self.server = RasaServer(
            environment(self.home), model, log_file=self.home / "logs" / "rasa.log"
        )
        self.progress(f"Starting the NLU server (about 20-40 s); its log: {self.server.log_file}")
        await self.server.start()
        self.progress(f"NLU server ready on {self.server.host}:{self.server.port}")
        self._classifier = RasaClassifier([self.server.url], timeout=self.timeout)
        return self._classifier

    async def stop(self) -> None:
        if self._classifier is not None:
            await self._classifier.aclose()
            self._classifier = None
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def __aenter__(self) -> RasaClassifier:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def environment(home: Path) -> RasaEnvironment:
    return RasaEnvironment(home / "rasa-venv")


def prepare_model(home: Path, project: RasaProject, progress: Progress) -> Path:
    """The Rasa venv and a model trained from the project's current data."""
    env = environment(home).ensure(progress)
    return project.ensure_model(env, home / "models", progress)
