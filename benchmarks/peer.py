"""The peer Frontdesk is measured against: Rasa's own REST channel answering each new
customer from rules, with the same pipeline and training data (`benchmarks/rasa_rest_project/`)."""

import asyncio
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml

from benchmarks.parsing import TEXTS
from benchmarks.report import latencies, line, percentile
from benchmarks.usage import rss_mib
from nlu.client import endpoint
from nlu.environment import RASA_REQUIREMENT, Progress, RasaEnvironment, run_step
from nlu.server import RasaServer
from nlu.service import environment
from nlu.training import RasaProject, _EpochReporter

PEER = Path(__file__).parent / "rasa_rest_project"
WEBHOOK = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class RasaRest:
    url: str
    pid: int
    model: Path
    trained_s: float | None  # None: the model was already up to date
    start_s: float  # process start until the webhook answered


@dataclass(frozen=True)
class Figures:
    seconds: tuple[float, ...]  # each customer's wait for the first reply
    elapsed: float

    @property
    def p50_ms(self) -> float:
        return percentile(self.seconds, 50) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.seconds, 95) * 1000

    @property
    def per_second(self) -> float:
        return len(self.seconds) / self.elapsed


def _project_files() -> list[Path]:
    """The peer's own files (its policies, domain and rules)."""
    return [PEER / "config.yml", PEER / "domain.yml", *sorted((PEER / "data").glob("*.yml"))]


def fingerprint() -> str:
    """Changes with the peer's own files and with everything the shipped model is made
    of (pipeline, our components, their packages, the NLU data), which it shares."""
    digest = hashlib.sha256(RASA_REQUIREMENT.encode() + RasaProject().fingerprint().encode())
    for path in _project_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _config(shipped: Path, own: Path) -> str:
    """The peer's config: the shipped pipeline, word for word, with the peer's policies,
    so that both sides classify with the same model."""
    config = yaml.safe_load(own.read_text(encoding="utf-8"))
    config["pipeline"] = yaml.safe_load(shipped.read_text(encoding="utf-8"))["pipeline"]
    return yaml.safe_dump(config, sort_keys=False)


def ensure_model(
    env: RasaEnvironment, models: Path, progress: Progress
) -> tuple[Path, float | None]:
    """The peer model and how long training it took (None when it was up to date)."""
    target = models / f"peer-{fingerprint()}.tar.gz"
    if target.is_file():
        progress(f"Peer model is up to date: {target}")
        return target, None
    progress("Training the peer model (NLU and rules); this takes a few minutes")
    started = time.perf_counter()
    models.mkdir(parents=True, exist_ok=True)
    # Scratch space beside the target, so the finished model is moved, not copied.
    with tempfile.TemporaryDirectory(dir=models, prefix=".training-peer-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(PEER, project)
        shipped = RasaProject()
        (project / "config.yml").write_text(_config(shipped.config, PEER / "config.yml"))
        for data in sorted(shipped.data.glob("*.yml")):
            shutil.copy(data, project / "data" / data.name)
        command = [
            str(env.python), "-m", "rasa", "train",
            "--config", str(project / "config.yml"), "--domain", str(project / "domain.yml"),
            "--data", str(project / "data"), "--out", scratch, "--fixed-model-name", "model",
        ]  # fmt: skip
        run_step(command, progress, env=env.env(), shown=_EpochReporter())
        shutil.move(Path(scratch) / "model.tar.gz", target)
    seconds = time.perf_counter() - started
    progress(f"Peer model trained in {seconds:.0f} s: {target}")
    return target, seconds


@contextlib.asynccontextmanager
async def start_rasa_rest(home: Path, progress: Progress) -> AsyncIterator[RasaRest]:
    """A `rasa run` serving the peer model on a free local port, stopped on exit."""
    env = await asyncio.to_thread(environment(home).ensure, progress)
    model, trained_s = await asyncio.to_thread(ensure_model, env, home / "models", progress)
    # No auth token: Rasa checks it only on its API, never on channel webhooks. With no
    # credentials.yml in the working directory, `rasa run` falls back to the REST channel.
    server = RasaServer(env, model, log_file=home / "logs" / "peer-rasa.log", token="")
    progress(f"Starting the peer Rasa server; its log: {server.log_file}")
    started = time.perf_counter()
    try:
        await server.start()
        await _wait_for_webhook(server.url)
        assert server.pid is not None
        peer = RasaRest(server.url, server.pid, model, trained_s, time.perf_counter() - started)
        progress(f"Peer Rasa server ready on {server.url} after {peer.start_s:.0f} s")
        yield peer
    finally:
        await server.stop()


async def _wait_for_webhook(url: str) -> None:
    """RasaServer waited for /model/parse; the channel may still be missing or broken."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, asyncio.timeout(60):
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                ready = {"sender": "ready", "message": "hi"}
                async with http.post(endpoint(url, WEBHOOK), json=ready) as response:
                    if response.status == 200 and await response.json():
                        return
            await asyncio.sleep(0.5)


async def first_replies(url: str, texts: Sequence[str], *, at_once: int, count: int) -> Figures:
    """`count` new customers, `at_once` at a time, each sending one message and waiting
    for the bot's replies."""
    webhook = endpoint(url, WEBHOOK)  # keeps a `?token=` the caller's URL may carry
    run = uuid.uuid4().hex[:8]  # fresh senders even against a server used before
    samples: list[float] = []
    # aiohttp, as Frontdesk's own clients and its NLU client: httpx's client took five
    # times the CPU per request, on the cores the peer is measured on.
    connector = aiohttp.TCPConnector(limit=at_once)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def customer(index: int) -> None:
            body = {"sender": f"peer-{run}-{index}", "message": texts[index % len(texts)]}
            start = time.perf_counter()
            async with http.post(webhook, json=body) as response:
                response.raise_for_status()
                replies = await response.json()
            samples.append(time.perf_counter() - start)
            # An empty list is Rasa's answer when something broke; it must not count as fast.
            assert isinstance(replies, list)
            assert replies, f"no reply to {body}"

        async def worker(offset: int) -> None:
            for index in range(offset, count, at_once):
                await customer(index)

        started = time.perf_counter()
        await asyncio.gather(*(worker(offset) for offset in range(at_once)))
        elapsed = time.perf_counter() - started
    return Figures(tuple(samples), elapsed)


async def main() -> None:
    home = Path(os.environ.get("FRONTDESK_HOME", ".frontdesk"))
    async with start_rasa_rest(home, lambda m: print(m, file=sys.stderr)) as peer:
        print("Peer: Rasa 3.6 REST channel, rules answering each intent; one message per customer")
        if peer.trained_s is not None:
            line("peer model training", peer.trained_s, "s")
        line("server start until the webhook answers", peer.start_s, "s")
        await first_replies(peer.url, TEXTS, at_once=1, count=20)  # warm-up
        for at_once, count in ((1, 200), (32, 500)):
            figures = await first_replies(peer.url, TEXTS, at_once=at_once, count=count)
            latencies(f"first reply, {at_once} at once,", figures.seconds)
            line(f"new customers/s, {at_once} at once", figures.per_second, "/s")
        line("peer Rasa server RSS", rss_mib(peer.pid), "MiB")


if __name__ == "__main__":
    asyncio.run(main())
