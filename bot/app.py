"""The ASGI app: one Starlette app that mounts the channels (widget, Telegram), the desk
(Slack), the admin API and the health endpoints; its lifespan owns the store, the NLU
service and the outbox. Here, and only here, the core meets the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from bot.access import Access
from bot.admin import Admin
from bot.admin_console import AdminConsole
from bot.admin_reports import AdminReports
from bot.config_api import ConfigApi
from bot.config_versions import ConfigVersions
from bot.console_layout import Parts
from bot.console_pages import console_routes
from bot.conversations import Conversations
from bot.customers import Customers
from bot.employees import Employees
from bot.metrics import CONTENT_TYPE, Metrics
from bot.news import News
from bot.outbox import Outbox
from bot.privacy import Privacy
from bot.roles import Channels
from bot.settings import Settings, load_routing_config
from bot.sign_in import SignIn
from bot.slack import SlackDesk, SlackEvents
from bot.store import Store, queue
from bot.store.conversations import open_counts
from bot.tables import utcnow
from bot.widget import Widget
from bot.widget_files import WidgetFiles
from bot.wiring import handle_core_jobs, handle_desk_jobs
from nlu import Classification, NluUnavailable
from nlu.service import NluService
from routing import RoutingConfig

if TYPE_CHECKING:
    from bot.telegram import TelegramChannel

log = logging.getLogger(__name__)
GC_THRESHOLDS = (10_000, 20, 20)  # see gc.set_threshold

SLACK_MISSING = (
    "Slack is not connected: the bot triages, and handoffs are stored and wait until it "
    "is. To connect it, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
    "for Socket Mode); README.md says how to create the Slack app from slack-app-manifest.yml."
)


@dataclass
class Runtime:
    """Everything the app's parts share while it runs."""

    settings: Settings
    versions: ConfigVersions  # the config in force, and its stored versions
    store: Store
    metrics: Metrics
    news: News
    nlu: NluService
    outbox: Outbox
    customers: Customers
    widget: Widget
    sign_in: SignIn
    slack: SlackEvents | None = None
    telegram: TelegramChannel | None = None
    nlu_state: str = "starting"  # starting, ready, failed
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    privacy: Privacy = field(init=False)

    def current_config(self) -> RoutingConfig:
        return self.versions.config

    async def classify(self, text: str) -> Classification:
        if self.nlu_state != "ready":
            raise NluUnavailable(f"the NLU service is {self.nlu_state}")
        return await self.nlu.classifier.classify(text)


def build(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Runtime:
    """Wire the core to the adapters; nothing starts until the app's lifespan does.
    `clock` is what the core takes for now (tests move it instead of waiting)."""
    config = load_routing_config(settings.config_path)
    store = Store(settings.database_url)
    metrics = Metrics()
    news = News(store)
    versions = ConfigVersions(store, news, config, clock=clock)
    outbox = Outbox(store, metrics, news, clock=clock)
    nlu = NluService(urls=settings.rasa_urls, home=settings.home, progress=log.info)
    runtime: Runtime
    channels = Channels()
    conversations = Conversations(store, outbox, channels, metrics, versions.current, clock)
    customers = Customers(conversations, lambda text: runtime.classify(text))
    notice = None if settings.slack_connected else SLACK_MISSING
    runtime = Runtime(settings, versions, store, metrics, news, nlu, outbox, customers,
                      Widget(settings, customers, notice=notice),
                      SignIn(store, versions.current, clock))  # fmt: skip
    channels.add(runtime.widget)
    if settings.telegram_bot_token:
        # Imported only when configured: python-telegram-bot costs ~8 MiB of memory.
        from bot.telegram import TelegramChannel

        telegram = runtime.telegram = TelegramChannel(settings, customers)
        channels.add(
            telegram, sender=telegram, reader=telegram, inviter=telegram, files=telegram.files
        )
    core = handle_core_jobs(outbox, customers)
    runtime.privacy = core.privacy
    versions.on_change.append(lambda _config: core.privacy.schedule_retention())
    if settings.slack_connected:
        slack = SlackDesk(settings, versions.current)
        runtime.slack = SlackEvents(settings, slack, Employees(conversations), runtime.sign_in)
        handle_desk_jobs(outbox, core, slack, files=slack)
        assert settings.slack_bot_token is not None  # a connected desk has one
        runtime.widget.messages.files = WidgetFiles(settings.slack_bot_token, store, slack, clock)
    return runtime


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Starlette:
    runtime = build(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.store.upgrade()
        await runtime.versions.adopt_file(runtime.settings.config_path)
        await runtime.versions.load()
        if runtime.slack is None:
            log.warning(SLACK_MISSING)
        else:
            await runtime.slack.desk.start()
            await runtime.slack.start()
        if runtime.telegram is not None:
            await runtime.telegram.start()
        runtime.tasks += [
            asyncio.create_task(_start_nlu(runtime), name="nlu-start"),
            asyncio.create_task(runtime.news.listen(), name="news"),
            asyncio.create_task(runtime.versions.watch(), name="config-versions"),
        ]
        await runtime.outbox.start()
        await runtime.privacy.schedule_retention()
        # What start-up made lives as long as the app: the garbage collector need not
        # go through it again. Its ~200,000 objects made each full collection a pause
        # of ~100 ms (seen as the slowest of 50 replies at once).
        gc.freeze()
        # Collect less often (Python's default is every 700 new objects): in the relay
        # bench the default made 1,600 young, 146 middle and 13 full collections, 2.0 s
        # of pauses, the longest 135 ms; these thresholds made 31, 1 and 0, 0.2 s. Our
        # garbage is freed by reference counting; cycles are the exception.
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await runtime.widget.receipts.settled()
            await runtime.outbox.stop()
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            if runtime.slack is not None:
                await runtime.slack.stop()
                await runtime.slack.desk.stop()
            if runtime.telegram is not None:
                await runtime.telegram.stop()
            await runtime.nlu.stop()
            await runtime.store.close()

    app = Starlette(routes=routes(runtime), lifespan=lifespan)
    app.state.runtime = runtime
    return app


def routes(runtime: Runtime) -> list[BaseRoute]:
    settings = runtime.settings
    access = Access(settings.admin_token, runtime.sign_in, settings.public_url)
    admin = Admin(
        access.guard,
        runtime.store,
        runtime.current_config,
        runtime.classify,
        runtime.outbox.clock,
        privacy=runtime.privacy,
    )
    console = Parts(
        access, runtime.versions, runtime.store, runtime.outbox.clock, runtime.classify,
        Employees(runtime.customers.conversations), settings.slack_connected,
    )  # fmt: skip
    found: list[BaseRoute] = [
        Route("/", runtime.widget.demo),
        Route("/widget.js", runtime.widget.script),
        WebSocketRoute("/widget/socket", runtime.widget.socket),
        Route("/healthz", _healthz),
        Route("/metrics", _metrics),
        *admin.routes(),
        *ConfigApi(runtime.versions, access.guard, settings.config_path).routes(),
        *AdminConsole(access).routes(),
        *console_routes(console),
        *AdminReports(runtime.store, runtime.current_config, runtime.outbox.clock).routes(
            access.guard
        ),
    ]
    if runtime.slack is not None:
        found.append(Route("/slack/events", runtime.slack.events, methods=["POST"]))
    if (files := runtime.widget.messages.files) is not None:
        found.append(Route("/widget/files/{message_id:int}/{index:int}", files.download))
    if runtime.telegram is not None:
        found += [
            Route("/telegram/webhook", runtime.telegram.webhook, methods=["POST"]),
            Route("/telegram/files/{file_id}", runtime.telegram.files.download),
        ]
    return found


async def _start_nlu(runtime: Runtime) -> None:
    """Start NLU in the background: customers can write (and are routed by the
    fallback rule) while a managed Rasa server loads."""
    try:
        await runtime.nlu.start()
    except Exception:
        runtime.nlu_state = "failed"
        log.exception("the NLU service did not start; customers go to the fallback rule")
        return
    runtime.nlu_state = "ready"
    log.info("NLU ready")
    runtime.outbox.wake()


async def _healthz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    async with runtime.store.reading() as connection:
        await connection.execute(text("SELECT 1"))
    return JSONResponse(
        {
            "status": "ok",
            "nlu": runtime.nlu_state,
            "slack": "connected" if runtime.slack else "not connected",
        }
    )


async def _metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    metrics = runtime.metrics
    async with runtime.store.reading() as connection:
        jobs = await queue.counts(connection)
        load = await open_counts(connection)
    for status, count in jobs.items():
        metrics.outbox.labels(status).set(count)
    metrics.open_conversations.clear()
    for employee, count in load.items():
        metrics.open_conversations.labels(employee or "unassigned").set(count)
    return Response(metrics.render(), media_type=CONTENT_TYPE)
