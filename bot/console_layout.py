"""What every console page shares: the frame (skip link, navigation landmark, one h1,
the sign-out button), the stylesheet and script, the check that an admin is signed in,
and accessible tables. Customer text reaches a page only through `escape`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import payloads
from bot.access import Access, Endpoint
from bot.admin_console import HOME, PAGES, csrf_input
from bot.config_versions import ConfigVersions
from bot.employees import Employees
from bot.sign_in import Session
from bot.store import Store
from nlu import Classification

STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' https: "
    "data:; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",  # our own forms post our Origin; others see none
}
Page = Callable[[Request, Session], Awaitable[Response]]


@dataclass
class Parts:
    """What the console's pages read and change: the same objects the admin API uses."""

    access: Access
    versions: ConfigVersions
    store: Store
    clock: Callable[[], datetime]
    classify: Callable[[str], Awaitable[Classification]]
    employees: Employees
    slack_connected: bool


def screen(
    request: Request,
    session: Session,
    title: str,
    body: str,
    status: int = 200,
    here: str | None = None,
) -> HTMLResponse:
    """A console page around `body` (HTML its caller escaped), its tab (`here`, else the
    one the request's path is under) marked current."""
    path = here or request.url.path
    links = f'<li><a href="{HOME}"{" aria-current=page" if path == HOME else ""}>Home</a></li>'
    links += "".join(
        f'<li><a href="{href}"{" aria-current=page" if path.startswith(href) else ""}>'
        f"{name}</a></li>"
        for name, href in PAGES
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · Frontdesk console</title>"
        '<link rel="stylesheet" href="/admin/console.css">'
        '<script src="/admin/console.js" defer></script></head><body>'
        '<a class="skip" href="#main">Skip to the page</a>'
        f'<header><nav aria-label="Console"><ul>{links}</ul></nav></header>'
        f'<main id="main" tabindex="-1"><h1>{escape(title)}</h1>{body}'
        f'<form method="post" action="/admin/sign-out">{csrf_input(session)}'
        f"<p>Signed in as {escape(session.employee_id)}. <button>Sign out</button></p>"
        "</form></main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def signed_in(access: Access, page: Page) -> Endpoint:
    """A GET page for a signed-in admin; anyone else is sent to the console's front door,
    which says how to get a sign-in link."""

    async def shown(request: Request) -> Response:
        session = await access.session(request)
        if session is None:
            return RedirectResponse(HOME, status_code=303)
        return await page(request, session)

    return shown


def posted(access: Access, page: Page, limit: int = 64 * 1024) -> Endpoint:
    """A console form's POST: the guard's same-origin and CSRF checks, then `page`. A
    signed-in admin's form may be up to `limit` bytes (a whole config, say): it is read
    here, before the guard, which then finds it read (bot/access.form)."""

    async def checked(request: Request) -> Response:
        session = await access.session(request)
        if session is None:
            return RedirectResponse(HOME, status_code=303)
        try:
            raw = await payloads.read(request, limit)
        except payloads.Refused as refused:
            return screen(request, session, "Not done", alert(too_large(refused, limit)), 413)
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        request.state.form = {name: values[0] for name, values in fields.items()}
        return await access.guard(lambda guarded: page(guarded, session))(request)

    return checked


def too_large(refused: payloads.Refused, limit: int) -> str:
    if refused.status != 413:
        return refused.reason
    return (
        f"Nothing was changed: the form is larger than {limit // 1024} KB. A config that "
        "large is better applied with `frontdesk config apply FILE`."
    )


def fields(request: Request) -> dict[str, str]:
    """The posted form, as `posted` read it."""
    found: dict[str, str] = request.state.form
    return found


def alert(text: str) -> str:
    return f'<p class="alert" role="alert">{escape(text)}</p>'


def status(text: str) -> str:
    return f'<p class="status" role="status">{escape(text)}</p>'


def table(caption: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An accessible table: `caption` and `head` are plain text, cells HTML already escaped."""
    heads = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{heads}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def form(action: str, session: Session, inner: str, label: str | None = None) -> str:
    """A POST form with its CSRF field; `label` names it for assistive technology."""
    named = f' aria-label="{escape(label)}"' if label else ""
    return f'<form method="post" action="{action}"{named}>{csrf_input(session)}{inner}</form>'


def assets() -> list[Route]:
    css, js = (STATIC / "console.css").read_bytes(), (STATIC / "console.js").read_bytes()

    async def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    async def script(request: Request) -> Response:
        return Response(js, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    return [Route("/admin/console.css", stylesheet), Route("/admin/console.js", script)]
