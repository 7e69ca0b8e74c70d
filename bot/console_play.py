"""The console's Playground: a message (with channel, language, tags and an existing
customer) through the real NLU and the rules in force, answered as `frontdesk route`
answers it (bot/dryrun.py: the same dry run, the same words). Nothing is stored."""

from __future__ import annotations

from html import escape
from typing import get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console_layout import Parts, alert, fields, form, posted, screen, signed_in
from bot.dryrun import as_text, dry_run
from bot.sign_in import Session
from bot.store import conversations as stored
from routing import Channel

PAGE = "/admin/console/playground"
CHANNELS: tuple[str, ...] = get_args(Channel)
MAX_TEXT = 4000


class Playground:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def routes(self) -> list[Route]:
        access = self.parts.access
        return [
            Route(PAGE, signed_in(access, self.show)),
            Route(PAGE, posted(access, self.ask), methods=["POST"]),
        ]

    async def show(self, request: Request, session: Session, answer: str = "") -> Response:
        given: dict[str, str] = getattr(request.state, "form", {})
        channel = given.get("channel", "web")
        options = "".join(
            f"<option{' selected' if c == channel else ''}>{escape(c)}</option>" for c in CHANNELS
        )
        inner = (
            '<p><label for="text">Message</label><br><textarea id="text" name="text" rows="3" '
            f'maxlength="{MAX_TEXT}" required>{escape(given.get("text", ""))}</textarea></p>'
            f'<p><label>Channel <select name="channel">{options}</select></label>'
            f'<label>Language <input type="text" name="language" size="4" '
            f'value="{escape(given.get("language", ""))}" placeholder="en"></label>'
            f'<label>Customer tags <input type="text" name="tags" '
            f'value="{escape(given.get("tags", ""))}" placeholder="vip, trial"></label>'
            f'<label>Existing customer (id) <input type="text" inputmode="numeric" '
            f'name="customer" size="6" value="{escape(given.get("customer", ""))}"></label></p>'
            "<p><button>Who would get it?</button></p>"
        )
        body = form(PAGE, session, inner, "Try a message") + answer
        return screen(request, session, "Playground", body)

    async def ask(self, request: Request, session: Session) -> Response:
        given = fields(request)
        text, channel = given.get("text", "").strip(), given.get("channel", "web")
        customer = given.get("customer", "").strip()
        if not text or len(text) > MAX_TEXT:
            return await self.show(request, session, alert(f"Write 1 to {MAX_TEXT} characters."))
        if channel not in CHANNELS or (customer and not customer.isdigit()):
            return await self.show(request, session, alert("Channel or customer id not known."))
        async with self.parts.store.reading() as connection:
            roster = await stored.roster(connection)
            previous = (
                await stored.previous_employee(connection, int(customer)) if customer else None
            )
        result = await dry_run(
            text,
            classify=self.parts.classify,
            config=self.parts.versions.config,
            roster=roster,
            now=self.parts.clock(),
            channel=channel,  # type: ignore[arg-type]  # one of CHANNELS, checked above
            previous_employee=previous,
            language=given.get("language", "").strip() or None,
            tags=frozenset(t.strip() for t in given.get("tags", "").split(",") if t.strip()),
        )
        answer = (
            "<h2>As <code>frontdesk route</code> says it</h2>"
            f'<pre id="answer" role="status">{escape(as_text(result))}</pre>'
        )
        return await self.show(request, session, answer)
