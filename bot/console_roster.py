"""The console's Roster and Audit log pages: who is at work now, their open load against
max_open, how fast they usually reply, an away toggle each (an audited change, as
`PUT /admin/employees/{id}/away`), the next shift, each person's book of customers; and
every change admins made."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import audit
from bot.admin import mark_away, roster_rows
from bot.console_layout import Parts, fields, form, posted, screen, signed_in, status, table
from bot.sign_in import Session
from bot.store.transcripts import books
from bot.tables import AuditEntry

AUDIT_LISTED = 200


class RosterPages:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def routes(self) -> list[Route]:
        access = self.parts.access
        return [
            Route("/admin/console/roster", signed_in(access, self.roster)),
            Route(
                "/admin/console/roster/{employee_id}/away",
                posted(access, self.away),
                methods=["POST"],
            ),
            Route("/admin/console/audit", signed_in(access, self.audit)),
        ]

    async def roster(self, request: Request, session: Session) -> Response:
        config, now = self.parts.versions.config, self.parts.clock()
        async with self.parts.store.reading() as connection:
            people = await roster_rows(connection, config, now)
            booked = await books(connection)
        rows = []
        for person in people:
            toggle = form(
                f"/admin/console/roster/{escape(person['id'])}/away",
                session,
                f'<input type="hidden" name="away" value="{"0" if person["away"] else "1"}">'
                f'<button aria-label="{"Back" if person["away"] else "Away"}: '
                f'{escape(person["name"])}">{"Mark back" if person["away"] else "Mark away"}'
                "</button>",
            )
            at_work = "at work" if person["at_work"] else "off"
            if person["away"]:
                at_work += ", away"
            rows.append([
                escape(person["name"]),
                escape(", ".join(person["teams"])),
                at_work + ("" if person["available"] else " (not available)"),
                f"{person['open_conversations']} of {person['max_open']}"
                f'<meter min="0" max="{person["max_open"]}" value="{person["open_conversations"]}"'
                f' aria-label="Load of {escape(person["name"])}"></meter>',
                _usually(person["usually_replies_within"]),
                f"{escape(person['next_shift'] or 'now')}<br><small>{escape(person['hours'])}"
                "</small>",
                toggle,
            ])  # fmt: skip
        body = ""
        if request.query_params.get("done"):
            body += status(request.query_params["done"])
        body += table(
            f"Who is at work at {now:%Y-%m-%d %H:%M} UTC",
            ["Person", "Teams", "Now", "Open / max_open", "Usually replies", "Next shift", "Away"],
            rows,
        )
        body += (
            "<h2>Books of customers</h2><p>Customers whose latest conversation each person had: "
            "routing sends them back to that person when they write again.</p>"
        )
        for person in people:
            listed = booked.get(person["id"], [])
            items = "".join(
                f'<li><a href="/admin/console/conversations?customer={b.customer_id}">'
                f"{escape(b.name or f'Customer {b.customer_id}')}</a> ({b.conversations})</li>"
                for b in listed
            )
            body += f"<h3>{escape(person['name'])}</h3>" + (
                f"<ul>{items}</ul>" if items else "<p>Nobody yet.</p>"
            )
        return screen(request, session, "Roster", body)

    async def away(self, request: Request, session: Session) -> Response:
        employee_id = request.path_params["employee_id"]
        config = self.parts.versions.config
        if not config.has_employee(employee_id):
            return screen(
                request, session, "Roster", f"<p>No employee {escape(employee_id)}.</p>", 404
            )
        away = fields(request).get("away") == "1"
        await mark_away(
            self.parts.store, self.parts.clock(), request.state.admin, employee_id, away
        )
        name = config.employee(employee_id).name
        done = f"{name} is {'away: no new conversations' if away else 'back'}."
        return RedirectResponse(
            f"/admin/console/roster?{urlencode({'done': done})}", status_code=303
        )

    async def audit(self, request: Request, session: Session) -> Response:
        async with self.parts.store.reading() as connection:
            found = await audit.entries(connection, AUDIT_LISTED)
        body = audit_table(f"The newest {AUDIT_LISTED} changes (all: GET /admin/audit)", found)
        return screen(request, session, "Audit log", body)


def audit_table(caption: str, found: list[AuditEntry], *, changes: bool = True) -> str:
    """Audit entries as the Audit log page lists them; the home page's newest leave out
    the before and after (a config diff is long)."""
    head = ["When (UTC)", "Who", "What", "Subject"]
    rows = [
        [
            escape(f"{e.at:%Y-%m-%d %H:%M:%S}"),
            escape(e.actor),
            escape(e.action),
            escape(e.subject or ""),
            *([_change(e.before), _change(e.after)] if changes else []),
        ]
        for e in found
    ]
    return table(caption, [*head, "Before", "After"] if changes else head, rows)


def _usually(within: str | None) -> str:
    """The reply time the bot promises customers for this person (GET /admin/roster's)."""
    if within is None:
        return "<small>not known: too few replies lately (their hours are promised)</small>"
    return f"within {escape(within)}"


def _change(value: dict[str, object] | None) -> str:
    if value is None:
        return ""
    return f"<pre>{escape(json.dumps(value, indent=1, ensure_ascii=False))}</pre>"
