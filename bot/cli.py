"""The `frontdesk` command line: serve, check-config, route, nlu
train|serve|eval|suggestions, config apply|export|versions, admin link, db
upgrade|current, customers export|erase."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from bot import config_commands, nlu_commands
from bot.console import progress
from bot.conversations import Conversations
from bot.dryrun import as_text, dry_run
from bot.metrics import Metrics
from bot.news import News
from bot.outbox import Outbox
from bot.privacy import Privacy, UnknownCustomer
from bot.roles import Channels
from bot.settings import Settings, load_routing_config
from bot.store import Store, schema
from bot.store import conversations as stored
from nlu import RasaSetupError
from nlu.service import NluService
from routing import ConfigError, RoutingConfig

T = TypeVar("T")

DESCRIPTION = """\
Frontdesk routes customers from Telegram and a web chat widget to real, named
employees in Slack. A bot does triage (Rasa NLU); rules in config.yml pick the person.

Environment: FRONTDESK_CONFIG (default config.yml), DATABASE_URL (default SQLite in
FRONTDESK_HOME, default .frontdesk), RASA_URL (external Rasa servers, comma-separated;
unset: a managed one is started). See README.md for the rest."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigError, RasaSetupError, schema.SchemaError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the app (widget, Telegram, Slack, admin)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check-config",
        help="validate a config file and summarise it",
        description="Exit 0 and print a summary if the file is valid; exit 1 naming the "
        "file, line and key of every problem otherwise.",
    )
    check.add_argument(
        "path", nargs="?", type=Path, help="default: $FRONTDESK_CONFIG or config.yml"
    )
    check.set_defaults(run=_check_config)

    dry = commands.add_parser(
        "route",
        help="dry run: who would get this message, and why",
        description="Classify TEXT with the real NLU, apply the real rules to the current "
        "roster in the database, and print the intent, confidence, entities, the rule "
        "that matched, the employee and the reasons.",
    )
    dry.add_argument("text", help="the customer's message")
    dry.add_argument("--channel", choices=["web", "telegram"], default="web")
    dry.add_argument("--customer", type=int, metavar="ID", help="route as this stored customer")
    dry.add_argument("--language", help="the customer's language, e.g. de")
    dry.add_argument("--tag", action="append", default=[], help="a customer tag (repeatable)")
    dry.add_argument("--json", action="store_true", help="print JSON instead of text")
    dry.set_defaults(run=_route)

    nlu_commands.register(commands)
    config_commands.register(commands)

    db = commands.add_parser("db", help="upgrade the database schema, or show its revision")
    db_commands = db.add_subparsers(title="db commands", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="bring the database to the newest schema revision",
        description="Upgrade the database in DATABASE_URL to the newest schema revision and "
        "print from which revision to which: an empty database gets the tables, one made by "
        "an earlier version (0.1 included) is upgraded with its data, an up-to-date one is "
        "left alone. `frontdesk serve` does the same on start.",
    )
    upgrade.set_defaults(run=_db_upgrade)
    current = db_commands.add_parser(
        "current",
        help="show the database's schema revision and whether it is the newest",
        description="Print the schema revision of the database in DATABASE_URL and whether "
        "it is the newest this version knows. Changes nothing.",
    )
    current.set_defaults(run=_db_current)

    people = commands.add_parser(
        "customers", help="export or erase everything stored about a customer"
    )
    people_commands = people.add_subparsers(
        title="customers commands", required=True, metavar="COMMAND"
    )
    export = people_commands.add_parser(
        "export",
        help="print everything stored about a customer, as JSON",
        description="Print as JSON everything the database in DATABASE_URL holds about "
        "customer ID: the customer, their contacts (for the web widget a hash of the "
        "visitor's token, never the token), their conversations with every message, "
        "assignment and desk thread, their link codes and earlier erasures. Changes "
        "nothing. Exit 1 if there is no such customer.",
    )
    export.add_argument("id", type=int, metavar="ID", help="the customer's id")
    export.set_defaults(run=_customers_export)
    erase = people_commands.add_parser(
        "erase",
        help="erase a customer's personal data (cannot be undone)",
        description="Erase customer ID's personal data in the database in DATABASE_URL: "
        "every message in their conversations becomes [erased] (attachments and links "
        "go too), their contacts, name and e-mail are deleted, open conversations are "
        "closed. The conversations stay, with intent, team, employee and times, so reports "
        "still count them; the erasure is recorded (when, and that it was this command). "
        "The running app then replaces the cards and thread posts it put on the desk. "
        "Erasing twice does no harm. Exit 1 if there is no such customer.",
    )
    erase.add_argument("id", type=int, metavar="ID", help="the customer's id")
    erase.set_defaults(run=_customers_erase)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import SLACK_MISSING, create_app
    from bot.logs import configure
    from bot.widget import MAX_FRAME

    settings = Settings.from_env()
    configure()
    app = create_app(settings)  # checks the config before anything starts
    progress(f"Frontdesk: demo page and widget on http://{args.host}:{args.port}/")
    if not settings.slack_connected:
        progress(SLACK_MISSING)
    if not settings.rasa_urls:
        progress(
            "NLU: starting a managed Rasa server (20-40 s); meanwhile the fallback rule applies."
        )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        ws_max_size=MAX_FRAME,  # a larger frame closes the socket with 1009
        proxy_headers=True,
        # Chat frames are small: compressing them saved little and kept zlib's state
        # per socket (`make bench`, 1,000 widget sockets open: 196 MiB with it, 149 without).
        ws_per_message_deflate=False,
    )
    return 0


def _check_config(args: argparse.Namespace) -> int:
    path = args.path or Settings.from_env().config_path
    config = load_routing_config(path)
    print(f"{path} is valid.\n")
    print(summary(config))
    return 0


def summary(config: RoutingConfig) -> str:
    lines = [f"{config.company.name}; the bot introduces itself as {config.company.bot_name!r}."]
    collect = ", ".join(f"{', '.join(v)} for {k}" for k, v in config.triage.collect.items())
    threshold = config.triage.min_confidence
    lines.append(f"Triage: clarify below confidence {threshold}; collect {collect or 'nothing'}.")
    lines.append("\nTeams:")
    for team in config.teams:
        where = f"#{team.slack_channel}" if team.slack_channel else "DMs"
        members = ", ".join(e.name for e in config.members(team.id))
        lines.append(f"  {team.name} ({team.id}, {where}): {members}")
    lines.append("\nRules, first match wins:")
    for i, rule in enumerate(config.rules, 1):
        conditions = [
            f"{field} {', '.join(values)}"
            for field, values in rule.when.model_dump().items()
            if values
        ]
        when = "; ".join(conditions) or "always"
        lines.append(f"  {i}. {rule.name}: {when} -> {rule.to.describe()}")
    lines.append(f"  otherwise -> {config.fallback.describe()}")
    return "\n".join(lines)


def _route(args: argparse.Namespace) -> int:
    return asyncio.run(_route_async(args))


async def _route_async(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    config = load_routing_config(settings.config_path)
    store = Store(settings.database_url)
    try:
        await store.upgrade()
        async with store.reading() as connection:
            roster = await stored.roster(connection)
            previous = (
                await stored.previous_employee(connection, args.customer) if args.customer else None
            )
    finally:
        await store.close()
    if not settings.rasa_urls:
        progress("No RASA_URL set: starting a managed NLU server for this dry run.")
    async with NluService(urls=settings.rasa_urls, home=settings.home, progress=progress) as nlu:
        result = await dry_run(
            args.text,
            classify=nlu.classify,
            config=config,
            roster=roster,
            now=datetime.now(UTC),
            channel=args.channel,
            previous_employee=previous,
            language=args.language,
            tags=frozenset(args.tag),
        )
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else as_text(result))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    done = asyncio.run(_with_store(Store.upgrade))
    if done.before == done.after:
        print(f"The database is at the newest revision already: {schema.describe(done.after)}.")
    else:
        before, after = schema.describe(done.before), schema.describe(done.after)
        print(f"Upgraded the database from {before} to {after}.")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    revision, newest = asyncio.run(_with_store(Store.revision)), schema.newest()
    if revision == newest:
        print(f"{schema.describe(revision)}: the newest.")
    else:
        print(f"{schema.describe(revision)}: not the newest, which is {schema.describe(newest)}.")
        print("`frontdesk db upgrade` (or `frontdesk serve`) upgrades it.")
    return 0


def _customers_export(args: argparse.Namespace) -> int:
    async def export(privacy: Privacy) -> None:
        print(json.dumps(await privacy.export(args.id), indent=2, ensure_ascii=False))

    return asyncio.run(_with_privacy(export))


def _customers_erase(args: argparse.Namespace) -> int:
    async def erase(privacy: Privacy) -> None:
        print((await privacy.erase(args.id, "the command line")).describe())

    return asyncio.run(_with_privacy(erase))


async def _with_privacy(action: Callable[[Privacy], Awaitable[None]]) -> int:
    """Run `action` on an up-to-date database; its jobs wait there for the app."""
    settings = Settings.from_env()
    store = Store(settings.database_url)
    try:
        await store.upgrade()
        metrics = Metrics()
        outbox = Outbox(store, metrics, News(store))
        config = partial(load_routing_config, settings.config_path)
        await action(Privacy(Conversations(store, outbox, Channels(), metrics, config)))
    except UnknownCustomer as exc:
        print(f"{exc}: nothing is stored under that id.", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


async def _with_store(action: Callable[[Store], Awaitable[T]]) -> T:
    store = Store(Settings.from_env().database_url)
    try:
        return await action(store)
    finally:
        await store.close()
