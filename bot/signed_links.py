"""Links that work until a time: what a link names and when it stops working are signed
together (HMAC-SHA256, with a key derived from a secret for each purpose), so a link can
be neither pointed at something else nor made to last longer. For the files that links
on the desk and in the widget fetch."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

_DIGITS = 12  # an expiry longer than this is not ours (and not a time before 33658)


class SignedLinks:
    """Signs `subject` (what a link names, e.g. "message:index") with an expiry
    `lifetime` seconds from the clock's now, and checks what a link came back with."""

    def __init__(
        self, secret: str, purpose: str, clock: Callable[[], datetime], lifetime: int
    ) -> None:
        self._key = hmac.new(
            secret.encode(), f"frontdesk-{purpose}".encode(), hashlib.sha256
        ).digest()
        self.clock = clock
        self.lifetime = lifetime

    def query(self, subject: str) -> str:
        """`expires=...&sig=...` for a link to `subject`, good for `lifetime` seconds."""
        expires = int(self.clock().timestamp()) + self.lifetime
        return f"expires={expires}&sig={self.signature(subject, expires)}"

    def valid(self, subject: str, expires: str, given: str) -> bool:
        """Whether `given` signs `subject` with `expires`, and that time is not past."""
        if not (expires.isascii() and expires.isdigit() and len(expires) < _DIGITS):
            return False
        signed = hmac.compare_digest(given.encode(), self.signature(subject, int(expires)).encode())
        return signed and int(expires) >= self.clock().timestamp()

    def signature(self, subject: str, expires: int) -> str:
        signed = f"{subject}:{expires}".encode()
        return hmac.new(self._key, signed, hashlib.sha256).hexdigest()[:32]
