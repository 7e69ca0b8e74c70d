"""Who may use the admin API and the console: a script with the bearer token
(FRONTDESK_ADMIN_TOKEN), or an admin's browser with a session cookie. A browser's
state-changing request must also come from our own pages: same origin (Sec-Fetch-Site,
Origin) and the session's CSRF token. Endpoints find who acts in `request.state.admin`
(an employee id, or "token") and a browser's session in `request.state.session`."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import audit, payloads
from bot.sign_in import COOKIE, Session, SignIn

Endpoint = Callable[[Request], Awaitable[Response]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
FORM = "application/x-www-form-urlencoded"
MAX_FORM = 64 * 1024
OFF = (
    "the admin API is off: set FRONTDESK_ADMIN_TOKEN to turn it on for scripts, or sign in "
    "to the console with a link (`frontdesk admin link --as ID`, or /frontdesk in Slack)"
)


class Access:
    def __init__(self, token: str | None, sign_in: SignIn, public_url: str | None) -> None:
        self.token = token
        self.sign_in = sign_in
        self.public_url = public_url

    def guard(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint` for the bearer token or a signed-in admin, others refused."""

        async def guarded(request: Request) -> Response:
            if "authorization" in request.headers:
                if self.token is None:
                    return _error(404, OFF)
                given = request.headers["authorization"].removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), self.token.encode()):
                    return _error(
                        401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
                    )
                request.state.admin = audit.BEARER
                return await endpoint(request)
            session = await self.session(request)
            if session is None:
                if self.token is None:
                    return _error(404, OFF)
                return _error(
                    401, "sign in, or give the bearer token", {"WWW-Authenticate": "Bearer"}
                )
            if request.method not in SAFE_METHODS and (
                refused := await self.forged(request, session)
            ):
                return _error(403, refused)
            request.state.admin = session.employee_id
            request.state.session = session
            return await endpoint(request)

        return guarded

    async def session(self, request: Request) -> Session | None:
        """The signed-in admin a request's cookie names, if any (for pages that show
        something else to strangers)."""
        token = request.cookies.get(COOKIE)
        return None if not token else await self.sign_in.session(token)

    def cross_site(self, request: Request) -> str | None:
        """Why a browser's request did not come from our own pages, or None."""
        fetched_from = request.headers.get("sec-fetch-site")
        if fetched_from is not None and fetched_from != "same-origin":
            return f"refused: a {fetched_from} request (Sec-Fetch-Site)"
        origin = request.headers.get("origin")
        if origin is not None and origin != self.origin(request):
            return f"refused: a request from {origin}, not from this site"
        return None

    def origin(self, request: Request) -> str:
        """Our own origin: FRONTDESK_PUBLIC_URL's, else the one the request was sent to."""
        if self.public_url:
            parts = urlsplit(self.public_url)
            return f"{parts.scheme}://{parts.netloc}"
        return f"{request.url.scheme}://{request.url.netloc}"

    async def forged(self, request: Request, session: Session) -> str | None:
        """Why a state-changing request with a session cookie may be forged, or None."""
        if (crossed := self.cross_site(request)) is not None:
            return crossed
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(FORM):
            try:
                given = (await form(request)).get(CSRF_FIELD)
            except payloads.Refused as refused:
                return refused.reason
        if given is None or not hmac.compare_digest(given.encode(), session.csrf.encode()):
            return "refused: missing or wrong CSRF token (X-CSRF-Token header or csrf field)"
        return None


async def form(request: Request) -> dict[str, str]:
    """A console form's fields (URL-encoded, at most 64 KB; the first of repeated names),
    read once and kept on the request, so the guard and the endpoint can both read it."""
    if not hasattr(request.state, "form"):
        raw = await payloads.read(request, MAX_FORM)
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        request.state.form = {name: values[0] for name, values in fields.items()}
    found: dict[str, str] = request.state.form
    return found


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
