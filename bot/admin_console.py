"""The console's front door: the page a sign-in link opens (one button, so that a link
previewer or mail scanner fetching the link does not spend it), the session cookie,
and signing out. `door()` is what the home page (bot/console_home.py) shows someone not
signed in; `page()` draws these pages; `csrf_input()` is the hidden field a console form
posts."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import payloads
from bot.access import CSRF_FIELD, Access, form
from bot.sign_in import COOKIE, IDLE, PATH, Refused, Session

HOME = "/admin/console"
PAGES = (  # the console's pages (bot/console_pages.py), in its navigation's order
    ("Roster", "/admin/console/roster"),
    ("Rules", "/admin/console/rules"),
    ("Playground", "/admin/console/playground"),
    ("What if", "/admin/console/replay"),
    ("Conversations", "/admin/console/conversations"),
    ("Report", "/admin/console/report"),
    ("Audit log", "/admin/console/audit"),
    ("Config", "/admin/console/config"),
)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
    "button{font:inherit;padding:.4rem 1rem}"
)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A console page: `body` is HTML already escaped by the caller."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · Frontdesk</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'",
        "Referrer-Policy": "same-origin",  # no-referrer makes a browser post Origin: null
    })  # fmt: skip


def door() -> HTMLResponse:
    """/admin/console for someone not signed in: how an admin gets a link."""
    return page("Frontdesk console", (
        "<p>You are not signed in. An admin (listed under <code>admins:</code> in "
        "config.yml) gets a one-time sign-in link with <code>/frontdesk</code> in "
        "Slack, or <code>frontdesk admin link --as ID</code> on the server.</p>"
    ), 401)  # fmt: skip


def csrf_input(session: Session) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(session.csrf)}">'


class AdminConsole:
    def __init__(self, access: Access) -> None:
        self.access = access
        self.sign_in = access.sign_in

    def routes(self) -> list[Route]:
        return [
            Route(PATH, self.link, methods=["GET"]),
            Route(PATH, self.enter, methods=["POST"]),
            Route("/admin/sign-out", self.access.guard(self.leave), methods=["POST"]),
        ]

    async def link(self, request: Request) -> Response:
        """GET: what a sign-in link opens; the link is spent by the button's POST."""
        token = request.query_params.get("token", "")
        try:
            employee_id = await self.sign_in.peek(token)
        except Refused as refused:
            return _refused(refused)
        name = self.sign_in.config().employee(employee_id).name
        return page("Sign in", (
            f'<form method="post" action="{PATH}">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f"<button>Sign in as {escape(name)}</button></form>"
        ))  # fmt: skip

    async def enter(self, request: Request) -> Response:
        """POST: spend the link, set the session cookie and open the console."""
        if (crossed := self.access.cross_site(request)) is not None:
            return page("Not signed in", f"<p>{escape(crossed)}</p>", 403)
        try:
            session = await self.sign_in.redeem((await form(request)).get("token", ""))
        except Refused as refused:
            return _refused(refused)
        except payloads.Refused as refused:
            return refused.response()
        response = RedirectResponse(HOME, status_code=303)
        response.set_cookie(
            COOKIE, session.token, max_age=int(IDLE.total_seconds()), path="/admin",
            secure=self.access.origin(request).startswith("https:"), httponly=True,
            samesite="strict",
        )  # fmt: skip
        return response

    async def leave(self, request: Request) -> Response:
        session: Session | None = getattr(request.state, "session", None)
        if session is None:
            return page("Sign out", "<p>Only a browser signed in can sign out.</p>", 400)
        await self.sign_in.sign_out(session)
        response = RedirectResponse(HOME, status_code=303)
        response.delete_cookie(COOKIE, path="/admin")
        return response


def _refused(refused: Refused) -> Response:
    return page("Not signed in", f"<p>{escape(str(refused))}</p>", 403)
