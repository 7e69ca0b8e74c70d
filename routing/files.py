"""The config section about files employees send customers (`files:`): how big, and of
which media types (`image/*` for any image). Anything else is refused with a note in
the employee's thread."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

_DEFAULT_TYPES = (
    "image/*", "application/pdf", "text/plain", "text/csv",
    "application/vnd.openxmlformats-officedocument.*", "application/msword",
    "application/vnd.ms-excel", "application/zip",
)  # fmt: skip


class Files(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_mb: float = Field(10, gt=0, le=50)  # Telegram's bots send documents up to 50 MB
    types: tuple[str, ...] = _DEFAULT_TYPES

    def refusal(self, media_type: str, size: int) -> str | None:
        """Why a file cannot go to a customer, or None if it can."""
        if size > self.max_mb * 1_000_000:
            return f"{size / 1_000_000:.1f} MB, more than the {self.max_mb:g} MB allowed"
        if not any(fnmatchcase(media_type.lower(), allowed) for allowed in self.types):
            return f"its type, {media_type}, is not one customers can be sent"
        return None
