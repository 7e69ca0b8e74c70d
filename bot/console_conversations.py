"""The console's Conversations pages: search by words, customer, person or status, and
read a transcript whole (what a desk card cuts) with the routing decision and its
reasons, then every transfer. Until a desk is connected, an admin can answer as the
assigned employee: a demo of what the employee does in Slack, through the same path a
Slack reply takes (Employees.write), so `make run` on a laptop shows the whole loop."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console_layout import Parts, alert, fields, form, posted, screen, signed_in, status, table
from bot.sign_in import Session
from bot.store.transcripts import Transcript, search, transcript
from bot.tables import Message

PAGE = "/admin/console/conversations"
Namer = Callable[[str | None], str]  # an employee id as people read it
LISTED = 100
STATUSES = ("", "triage", "waiting", "open", "closed")
DEMO = (
    "Demo: Slack is not connected, so you can answer here as {name}. This is what {name} "
    "does in a Slack thread: the customer sees the reply under {name}'s name."
)


class ConversationPages:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def routes(self) -> list[Route]:
        access = self.parts.access
        return [
            Route(PAGE, signed_in(access, self.listed)),
            Route(PAGE + "/{conversation_id:int}", signed_in(access, self.one)),
            Route(
                PAGE + "/{conversation_id:int}/answer",
                posted(access, self.answer),
                methods=["POST"],
            ),
        ]

    async def listed(self, request: Request, session: Session) -> Response:
        query = request.query_params
        words, person, state = (
            query.get("q", ""),
            query.get("employee", ""),
            query.get("status", ""),
        )
        customer = query.get("customer", "")
        config = self.parts.versions.config
        async with self.parts.store.reading() as connection:
            found = await search(connection, words, person or None, state or None, LISTED)
        if customer.isdigit():
            found = [(c, who) for c, who in found if c.customer_id == int(customer)]
        people = "".join(
            f'<option value="{escape(e.id)}"{" selected" if e.id == person else ""}>'
            f"{escape(e.name)}</option>"
            for e in config.employees
        )
        states = "".join(
            f'<option value="{s}"{" selected" if s == state else ""}>{s or "any"}</option>'
            for s in STATUSES
        )
        search_form = (
            f'<form method="get" action="{PAGE}" role="search" aria-label="Conversations">'
            f'<label>Words, customer name or email <input type="search" name="q" '
            f'value="{escape(words)}"></label><label>Person <select name="employee">'
            f'<option value="">anyone</option>{people}</select></label>'
            f'<label>Status <select name="status">{states}</select></label>'
            "<button>Search</button></form>"
        )
        rows = [
            [
                f'<a href="{PAGE}/{c.id}">#{c.id}</a>',
                escape(f"{c.created_at:%Y-%m-%d %H:%M}"),
                escape(who.name or f"Customer {who.id}"),
                escape(c.channel),
                escape(c.intent or ""),
                escape(self._name(c.employee_id)),
                escape(c.status),
            ]
            for c, who in found
        ]
        caption = f"The newest {LISTED} conversations found" if rows else "No conversation found"
        head = ["Conversation", "Started (UTC)", "Customer", "Channel", "Topic", "Person", "Status"]
        return screen(request, session, "Conversations", search_form + table(caption, head, rows))

    async def one(self, request: Request, session: Session, note: str = "") -> Response:
        conversation_id = request.path_params["conversation_id"]
        async with self.parts.store.reading() as connection:
            found = await transcript(connection, conversation_id)
        if found is None:
            body = f"<p>No conversation {conversation_id}.</p>"
            return screen(request, session, "Conversation", body, 404)
        done = request.query_params.get("done")
        note += status(done) if done else ""
        body = note + _about(found) + _decisions(found, self._name)
        body += "<h2>Transcript</h2>" + "".join(_said(m, self._name) for m in found.messages)
        body += self._demo(found, session)
        return screen(request, session, f"Conversation #{conversation_id}", body)

    async def answer(self, request: Request, session: Session) -> Response:
        """Demo only: a reply as the assigned employee, as if written in their thread."""
        conversation_id = request.path_params["conversation_id"]
        if self.parts.slack_connected:
            return await self.one(request, session, alert(
                "Slack is connected: the employee answers in their Slack thread."
            ))  # fmt: skip
        async with self.parts.store.reading() as connection:
            found = await transcript(connection, conversation_id)
        text = fields(request).get("text", "").strip()
        if found is None or found.conversation.employee_id is None or not text:
            return await self.one(
                request, session, alert("Nobody to answer as, or nothing to say.")
            )
        await self.parts.employees.write(
            conversation_id, found.conversation.employee_id, text, f"console:{secrets.token_hex(8)}"
        )
        said = {"done": "Sent as the employee."}
        return RedirectResponse(f"{PAGE}/{conversation_id}?{urlencode(said)}", status_code=303)

    def _name(self, employee_id: str | None) -> str:
        config = self.parts.versions.config
        if employee_id is None:
            return "nobody yet"
        return (
            config.employee(employee_id).name if config.has_employee(employee_id) else employee_id
        )

    def _demo(self, found: Transcript, session: Session) -> str:
        employee = found.conversation.employee_id
        if self.parts.slack_connected or employee is None:
            return ""
        name = escape(self._name(employee))
        return (
            f'<section aria-labelledby="demo"><h2 id="demo">Answer as {name} (demo)</h2>'
            f'<p class="demo">{DEMO.format(name=name)}</p>'
            + form(
                f"{PAGE}/{found.conversation.id}/answer",
                session,
                f'<p><label for="reply">Reply as {name}</label><br>'
                '<textarea id="reply" name="text" rows="3" required></textarea></p>'
                f"<p><button>Send as {name}</button></p>",
            )
            + "</section>"
        )


def _about(found: Transcript) -> str:
    c, who = found.conversation, found.customer
    contact = ", ".join(x for x in (who.name, who.email) if x) or f"Customer {who.id}"
    return (
        f"<p>{escape(contact)} (customer {who.id}"
        f"{', tags: ' + escape(', '.join(who.tags)) if who.tags else ''}) wrote on "
        f"{escape(c.channel)}; status <strong>{escape(c.status)}</strong>; topic "
        f"{escape(c.intent or 'not known')}"
        f"{f' ({c.confidence:.2f})' if c.confidence is not None else ''}.</p>"
    )


def _decisions(found: Transcript, named: Namer) -> str:
    rows = [
        [
            "Routed" if i == 0 else "Transferred",
            escape(f"{a.assigned_at:%Y-%m-%d %H:%M}"),
            escape(named(a.employee_id)),
            escape(a.team_id or ""),
            escape(a.rule or "(fallback or a person named)"),
            "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in a.reasons) + "</ul>",
        ]
        for i, a in enumerate(found.assignments)
    ]
    return table(
        "The routing decision and each transfer, with the reasons",
        ["", "When (UTC)", "To", "Team", "Rule", "Why"],
        rows,
    )


def _said(message: Message, named: Namer) -> str:
    author = {"customer": "Customer", "bot": "Bot", "system": "Frontdesk"}.get(
        message.author
    ) or named(message.employee_id) + (" (internal note)" if message.author == "note" else "")
    return (
        f'<article class="msg {escape(message.author)}"><header>{escape(author)} · '
        f"{escape(f'{message.created_at:%Y-%m-%d %H:%M:%S}')}</header>"
        f"{escape(message.body)}</article>"
    )
