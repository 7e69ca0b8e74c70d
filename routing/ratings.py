"""The config section about asking customers to rate a conversation when it closes
(`ratings:`): on unless `enabled: false`, and what the bot says."""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field, field_validator

_PLACEHOLDERS = {"name", "first_name"}  # the person who had the conversation


class Ratings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # Said after the closing words, with buttons 1 to 5 and a way to skip.
    ask: str = "How did {first_name} do? Rate this conversation from 1 (poor) to 5 (great)."
    thanks: str = "Thank you for your rating!"
    max_comment_chars: int = Field(1000, ge=1, le=4000)

    @field_validator("ask", "thanks")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if unknown := used - _PLACEHOLDERS:
            raise ValueError(
                f"unknown placeholder {', '.join(sorted(unknown))}; "
                f"available: {', '.join(sorted(_PLACEHOLDERS))}"
            )
        return value
