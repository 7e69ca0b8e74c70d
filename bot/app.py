"""The ASGI app: one Starlette app mounting the widget, Slack, Telegram, admin and
health endpoints; its lifespan owns the store, the NLU service and the outbox workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlmodel import col, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from bot.admin import Admin
from bot.metrics import CONTENT_TYPE, Metrics
from bot.outbox import Outbox
from bot.relay import Relay
from bot.settings import Settings, load_routing_config
from bot.slack import SlackDesk
from bot.store import Store
from bot.tables import OPEN_STATUSES, Conversation, OutboxJob
from bot.telegram import TelegramDesk
from bot.widget import Widget
from nlu import Classification, NluUnavailable
from nlu.service import NluService
from routing import RoutingConfig

log = logging.getLogger(__name__)

SLACK_MISSING = (
    "Slack is not connected: the bot triages, and handoffs are stored and wait until it "
    "is. To connect it, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
    "for Socket Mode); README.md says how to create the Slack app from slack-app-manifest.yml."
)


@dataclass
class Runtime:
    """Everything the app's parts share while it runs."""

    settings: Settings
    config: RoutingConfig
    store: Store
    metrics: Metrics
    nlu: NluService
    outbox: Outbox
    relay: Relay
    widget: Widget
    slack: SlackDesk | None
    telegram: TelegramDesk | None
    nlu_state: str = "starting"  # starting, ready, failed
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def current_config(self) -> RoutingConfig:
        return self.config

    def reload_config(self) -> RoutingConfig:
        self.config = load_routing_config(self.settings.config_path)
        log.info("config reloaded", extra={"path": str(self.settings.config_path)})
        return self.config

    async def classify(self, text: str) -> Classification:
        if self.nlu_state != "ready":
            raise NluUnavailable(f"the NLU service is {self.nlu_state}")
        return await self.nlu.classifier.classify(text)


def build(settings: Settings) -> Runtime:
    """Wire the parts together; nothing starts until the app's lifespan does."""
    config = load_routing_config(settings.config_path)
    store = Store(settings.database_url)
    metrics = Metrics()
    outbox = Outbox(store, metrics)
    nlu = NluService(urls=settings.rasa_urls, home=settings.home, progress=log.info)
    runtime: Runtime
    relay = Relay(
        store, outbox, metrics, lambda: runtime.config, lambda text: runtime.classify(text)
    )
    widget = Widget(settings, store, relay, lambda: runtime.config, metrics)
    slack = (
        SlackDesk(settings, store, relay, lambda: runtime.config)
        if settings.slack_connected
        else None
    )
    telegram = None
    if settings.telegram_bot_token:
        telegram = TelegramDesk(settings, store, relay, lambda: runtime.config, metrics)
        widget.telegram_link = telegram.link_url
    runtime = Runtime(settings, config, store, metrics, nlu, outbox, relay, widget, slack, telegram)
    outbox.register({"triage": relay.run_triage})
    for desk in (slack, telegram):
        if desk is not None:
            outbox.register(desk.handlers())
    return runtime


def create_app(settings: Settings) -> Starlette:
    runtime = build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.store.create_schema()
        if runtime.slack is None:
            log.warning(SLACK_MISSING)
        else:
            await runtime.slack.start()
        if runtime.telegram is not None:
            await runtime.telegram.start()
        runtime.tasks.append(asyncio.create_task(_start_nlu(runtime), name="nlu-start"))
        await runtime.outbox.start()
        try:
            yield
        finally:
            await runtime.outbox.stop()
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            if runtime.slack is not None:
                await runtime.slack.stop()
            if runtime.telegram is not None:
                await runtime.telegram.stop()
            await runtime.nlu.stop()
            await runtime.store.close()

    app = Starlette(routes=routes(runtime), lifespan=lifespan)
    app.state.runtime = runtime
    return app


def routes(runtime: Runtime) -> list[BaseRoute]:
    admin = Admin(
        runtime.settings.admin_token,
        runtime.store,
        runtime.current_config,
        runtime.reload_config,
        runtime.classify,
    )
    found: list[BaseRoute] = [
        Route("/", runtime.widget.demo),
        Route("/widget.js", runtime.widget.script),
        WebSocketRoute("/widget/socket", runtime.widget.socket),
        Route("/healthz", _healthz),
        Route("/metrics", _metrics),
        *admin.routes(),
    ]
    if runtime.slack is not None:
        found.append(Route("/slack/events", runtime.slack.events, methods=["POST"]))
    if runtime.telegram is not None:
        found += [
            Route("/telegram/webhook", runtime.telegram.webhook, methods=["POST"]),
            Route("/telegram/files/{file_id}", runtime.telegram.file),
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
    async with runtime.store.session() as session:
        await session.exec(select(1))
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
    async with runtime.store.session() as session:
        jobs = await session.exec(
            select(OutboxJob.status, func.count()).group_by(col(OutboxJob.status))
        )
        load = await session.exec(
            select(Conversation.employee_id, func.count())
            .where(col(Conversation.status).in_(OPEN_STATUSES))
            .group_by(col(Conversation.employee_id))
        )
        for status, count in jobs.all():
            metrics.outbox.labels(status).set(count)
        metrics.open_conversations.clear()
        for employee, count in load.all():
            metrics.open_conversations.labels(employee or "unassigned").set(count)
    return Response(metrics.render(), media_type=CONTENT_TYPE)
