"""The admin console's pages (issue 8), mounted beside the admin API they show: roster,
rules and config, playground, what if, conversations, report, audit log; and the API's
OpenAPI description; and the start page."""

from __future__ import annotations

from starlette.routing import Route

from bot import openapi
from bot.console_conversations import ConversationPages
from bot.console_home import HomePage
from bot.console_layout import Parts, assets
from bot.console_play import Playground
from bot.console_replay import Replays
from bot.console_report import ReportPage
from bot.console_roster import RosterPages
from bot.console_rules import RulesPages


def console_routes(parts: Parts) -> list[Route]:
    replays = Replays(parts)
    return [
        *assets(),
        *HomePage(parts.access, parts.versions, parts.store, parts.clock).routes(),
        *RosterPages(parts).routes(),
        *RulesPages(parts, replays).routes(),
        *replays.routes(),
        *Playground(parts).routes(),
        *ConversationPages(parts).routes(),
        *ReportPage(parts).routes(),
        *openapi.routes(),
    ]
