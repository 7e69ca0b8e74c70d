"""The `frontdesk config` commands (apply a file as the new version in force, export a
version, list them) and `frontdesk admin link` (a one-time sign-in link to the console)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot import audit
from bot.config_versions import ConfigVersions, UnknownVersion
from bot.news import News
from bot.settings import Settings, load_routing_config
from bot.sign_in import LINK_LIFETIME, Refused, SignIn, link_url
from bot.store import Store


def register(commands: argparse._SubParsersAction[Any]) -> None:
    config = commands.add_parser("config", help="apply, export or list config versions")
    subcommands = config.add_subparsers(title="config commands", required=True, metavar="COMMAND")
    apply = subcommands.add_parser(
        "apply",
        help="check a config file and make it the version in force",
        description="Check FILE as check-config does (exit 1 naming file, line and key of "
        "every problem, nothing stored), then store it in the database in DATABASE_URL as "
        "the new config version. Every running instance takes it up within a few seconds.",
    )
    apply.add_argument("file", type=Path, metavar="FILE")
    apply.add_argument("--comment", help="why, kept with the version")
    apply.set_defaults(run=_apply)
    export = subcommands.add_parser(
        "export",
        help="print a config version's YAML",
        description="Print the YAML of the version in force, or of --version N.",
    )
    export.add_argument("--version", type=int, metavar="N", help="default: the one in force")
    export.set_defaults(run=_export)
    versions = subcommands.add_parser("versions", help="list the config versions, newest first")
    versions.set_defaults(run=_versions)

    admin = commands.add_parser("admin", help="sign-in links to the admin console")
    admin_commands = admin.add_subparsers(title="admin commands", required=True, metavar="COMMAND")
    link = admin_commands.add_parser(
        "link",
        help="print a one-time sign-in link to the console",
        description="Print a link that signs EMPLOYEE in to the admin console: it works "
        "once, within 10 minutes, and only for someone under `admins:` in the config in "
        "force. It starts with FRONTDESK_PUBLIC_URL (default http://127.0.0.1:8000).",
    )
    link.add_argument("--as", dest="employee", required=True, metavar="EMPLOYEE")
    link.set_defaults(run=_link)


def _apply(args: argparse.Namespace) -> int:
    async def apply(versions: ConfigVersions) -> int:
        text = args.file.read_text(encoding="utf-8")
        done = await versions.apply(text, str(args.file), audit.COMMAND_LINE, args.comment)
        if done.changed:
            print(f"Version {done.version.id} is in force ({args.file}).")
        else:
            print(f"{args.file} is version {done.version.id}, in force already: nothing stored.")
        return 0

    return asyncio.run(_with_versions(apply))


def _export(args: argparse.Namespace) -> int:
    async def export(versions: ConfigVersions) -> int:
        version = await (versions.get(args.version) if args.version else versions.newest())
        if version is None:
            print("No config version is stored yet.", file=sys.stderr)
            return 1
        sys.stdout.write(version.text)
        return 0

    return asyncio.run(_with_versions(export))


def _versions(args: argparse.Namespace) -> int:
    async def listed(versions: ConfigVersions) -> int:
        found = await versions.listed()
        for i, v in enumerate(found):
            when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
            mark = "  (in force)" if i == 0 else ""
            restored = f" [restores {v.restored_from}]" if v.restored_from else ""
            print(f"{v.id:>4}  {when}  {v.author}{restored}: {v.comment or ''}{mark}")
        return 0

    return asyncio.run(_with_versions(listed))


def _link(args: argparse.Namespace) -> int:
    async def link(versions: ConfigVersions) -> int:
        token = await SignIn(versions.store, versions.current).link(args.employee)
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        print(link_url(Settings.from_env().public_url, token))
        print(f"It works once, within {minutes} minutes.", file=sys.stderr)
        return 0

    return asyncio.run(_with_versions(link))


async def _with_versions(action: Callable[[ConfigVersions], Awaitable[int]]) -> int:
    """Run `action` on an up-to-date database, with the version in force there (the
    file's config while none is stored)."""
    settings = Settings.from_env()
    store = Store(settings.database_url)
    try:
        await store.upgrade()
        versions = ConfigVersions(store, News(store), load_routing_config(settings.config_path))
        await versions.load()
        return await action(versions)
    except (UnknownVersion, Refused, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        await store.close()
