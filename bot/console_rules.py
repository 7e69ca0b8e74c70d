"""The console's Rules and Config pages: the rules in order (what each matches, where it
sends) with a form to edit, reorder, add and remove them, and the whole config.yml as
text (checked as you type), the versions stored and a restore button each. Either
editor checks its candidate as `check-config` does, replays it ("What if") or applies
it as a new config version: all of it or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.config_api import MAX_CONFIG
from bot.config_versions import UnknownVersion
from bot.console_layout import Parts, alert, fields, form, posted, screen, signed_in, status, table
from bot.console_replay import Replays
from bot.rules_text import BadRow, as_row, from_form, with_rules
from bot.sign_in import Session
from routing import ConfigError

FORM_LIMIT = 3 * MAX_CONFIG  # a whole config, URL-encoded
BUTTONS = (
    '<p><button name="action" value="check">Check</button> '
    '<button name="action" value="replay">What if…</button> '
    '<button name="action" value="apply">Apply</button></p>'
)
RULES, CONFIG = "/admin/console/rules", "/admin/console/config"
Editor = Callable[[Request, Session, str], Awaitable[Response]]  # a page shown again, with a note


class RulesPages:
    def __init__(self, parts: Parts, replays: Replays) -> None:
        self.parts = parts
        self.replays = replays

    def routes(self) -> list[Route]:
        access = self.parts.access
        return [
            Route(RULES, signed_in(access, self.rules)),
            Route(RULES, posted(access, self.edit_rules, FORM_LIMIT), methods=["POST"]),
            Route(CONFIG, signed_in(access, self.config)),
            Route(CONFIG, posted(access, self.edit_config, FORM_LIMIT), methods=["POST"]),
            Route(
                CONFIG + "/versions/{version_id:int}/restore",
                posted(access, self.restore),
                methods=["POST"],
            ),
        ]

    async def rules(self, request: Request, session: Session, note: str = "") -> Response:
        form_fields: dict[str, str] = getattr(request.state, "form", {})
        config = self.parts.versions.config
        rows = [as_row(rule) for rule in config.rules]
        listed = table(
            "The rules in force, in order: the first that matches wins",
            ["#", "Name", "Matches", "Sends to"],
            [
                [str(i), escape(row.name), escape(row.when or "everything"), escape(row.to)]
                for i, row in enumerate(rows, 1)
            ],
        )
        fallback = escape(config.fallback.describe())
        editors = "".join(
            _rule(i, row.name, row.when, row.to, form_fields) for i, row in enumerate(rows)
        )
        editors += _rule(len(rows), "", "", "", form_fields, new=True)
        targets = "".join(f'<option value="team: {escape(t.id)}">' for t in config.teams) + "".join(
            f'<option value="employee: {escape(e.id)}">' for e in config.employees
        )
        body = (
            f"{note}{_done(request)}{listed}<p>Nobody matched: the fallback, {fallback}.</p>"
            "<h2>Edit the rules</h2><p>Change a rule's order number to move it, tick "
            "Remove to drop it, fill the last row to add one. <code>Matches</code> and "
            "<code>Sends to</code> are written as in config.yml (<code>intent: [refund, "
            "billing]</code>, <code>team: billing</code>). Saving rewrites the "
            "<code>rules:</code> section of config.yml: comments inside it are lost, the rest "
            f'of the file is kept (edit it all on the <a href="{CONFIG}">Config</a> page).</p>'
            + form(
                RULES,
                session,
                f'<input type="hidden" name="base" value="{self.parts.versions.version}">'
                f'<datalist id="targets">{targets}</datalist>{editors}{BUTTONS}',
                "Edit the rules",
            )
        )
        return screen(request, session, "Rules", body)

    async def edit_rules(self, request: Request, session: Session) -> Response:
        posted_fields = fields(request)
        newest = await self.parts.versions.newest()
        current = newest.text if newest is not None else ""
        try:
            text = with_rules(current, from_form(posted_fields))
        except BadRow as bad:
            return await self.rules(request, session, alert(str(bad)))
        return await self._act(request, session, text, "rules edit", self.rules)

    async def config(self, request: Request, session: Session, note: str = "") -> Response:
        text = getattr(request.state, "form", {}).get("yaml")
        if text is None:
            newest = await self.parts.versions.newest()
            text = newest.text if newest is not None else ""
        versions = await self.parts.versions.listed()
        current = versions[0].id if versions else None
        rows = [
            [
                str(v.id) + (" (in force)" if v.id == current else ""),
                escape(f"{v.created_at:%Y-%m-%d %H:%M}"),
                escape(v.author),
                escape(v.comment or ""),
                ""
                if v.id == current
                else form(
                    f"{CONFIG}/versions/{v.id}/restore",
                    session,
                    f'<button aria-label="Restore version {v.id}">Restore</button>',
                ),
            ]
            for v in versions
        ]
        body = (
            f"{note}{_done(request)}"
            + form(
                CONFIG,
                session,
                f'<input type="hidden" name="base" value="{self.parts.versions.version}">'
                '<p><label for="yaml">config.yml</label></p>'
                '<textarea id="yaml" name="yaml" rows="30" data-validate '
                f'aria-describedby="checked">{escape(text)}</textarea>'
                '<p id="checked" role="status" aria-live="polite"></p>'
                '<p><label>Comment <input type="text" name="comment" maxlength="500"></label></p>'
                + BUTTONS,
                "Edit config.yml",
            )
            + table("Versions, newest first", ["Version", "When (UTC)", "By", "Comment", ""], rows)
        )
        return screen(request, session, "Config", body)

    async def edit_config(self, request: Request, session: Session) -> Response:
        text = fields(request).get("yaml", "").replace("\r\n", "\n")
        return await self._act(request, session, text, "config edit", self.config)

    async def restore(self, request: Request, session: Session) -> Response:
        version_id = request.path_params["version_id"]
        try:
            done = await self.parts.versions.restore(version_id, request.state.admin)
        except UnknownVersion as exc:
            return await self.config(request, session, alert(str(exc)))
        except ConfigError as exc:
            return await self.config(request, session, _problems(exc))
        said = f"Version {version_id} is in force again, as version {done.version.id}."
        return RedirectResponse(f"{CONFIG}?{urlencode({'done': said})}", status_code=303)

    async def _act(
        self, request: Request, session: Session, text: str, source: str, again: Editor
    ) -> Response:
        """Check, replay or apply a candidate; its editor shown again with the problems."""
        action = fields(request).get("action", "check")
        if len(text.encode()) > MAX_CONFIG:
            return await again(request, session, alert(
                f"Nothing was changed: the config is larger than {MAX_CONFIG // 1024} KB."
            ))  # fmt: skip
        versions = self.parts.versions
        if action == "apply" and fields(request).get("base") != str(versions.version):
            return await again(request, session, alert(
                f"Not applied: version {versions.version} was applied since this page was "
                "opened. Check your change against it and apply again."
            ))  # fmt: skip
        try:
            config = await asyncio.to_thread(versions.check, text, source)
        except ConfigError as exc:
            request.state.form = {**fields(request), "yaml": text}
            return await again(request, session, _problems(exc))
        if action == "replay":
            return await self.replays.shown(request, session, text, config)
        if action != "apply":
            request.state.form = {**fields(request), "yaml": text}
            said = f"The candidate is valid: {len(config.rules)} rules, nothing applied yet."
            return await again(request, session, status(said))
        comment = fields(request).get("comment") or f"{source} in the console"
        done = await versions.apply(text, source, request.state.admin, comment)
        said = (
            f"Applied as version {done.version.id}: in force on every instance within seconds."
            if done.changed
            else "Nothing to apply: the candidate is the version in force."
        )
        return RedirectResponse(f"{RULES}?{urlencode({'done': said})}", status_code=303)


def _rule(
    i: int, name: str, when: str, to: str, given: dict[str, str], *, new: bool = False
) -> str:
    """One rule's fieldset; what was posted wins over the config's (a form shown again)."""
    name = given.get(f"name.{i}", name)
    when, to = given.get(f"when.{i}", when), given.get(f"to.{i}", to)
    legend = "A new rule" if new else f"Rule {i + 1}: {name}"
    remove = "" if new else (
        f'<label><input type="checkbox" name="remove.{i}" value="1"'
        f'{" checked" if given.get(f"remove.{i}") else ""}> Remove</label>'
    )  # fmt: skip
    return (
        f'<fieldset class="rule"><legend>{escape(legend)}</legend>'
        f'<label>Order <input class="order" type="text" inputmode="decimal" name="order.{i}" '
        f'value="{escape(given.get(f"order.{i}", str(i + 1)))}"></label>'
        f'<label>Name <input type="text" name="name.{i}" value="{escape(name)}"></label>'
        f'<label>Matches <input type="text" name="when.{i}" value="{escape(when)}" '
        'placeholder="intent: [refund, billing]"></label>'
        f'<label>Sends to <input type="text" name="to.{i}" value="{escape(to)}" '
        f'list="targets" placeholder="team: billing"></label>{remove}</fieldset>'
    )


def _problems(exc: ConfigError) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in exc.lines())
    return (
        '<div class="alert" role="alert"><p>Nothing was changed: the candidate has '
        f"{len(exc.problems)} problem(s) (<code>rules[0]</code> is the first rule in the "
        f"edited order).</p><ul>{items}</ul></div>"
    )


def _done(request: Request) -> str:
    done = request.query_params.get("done")
    return status(done) if done else ""
