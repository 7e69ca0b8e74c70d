"""The config section about how long what customers wrote is kept (`retention:`), in
days: `retention: {messages: 365d}`. Absent, messages are kept for ever."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

_DAYS = re.compile(r"(\d+)\s*d")


def _days(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    found = _DAYS.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None or int(found[1]) < 1:
        raise ValueError(f"{value!r} is not a period: give a number of days, such as 365d")
    return timedelta(days=int(found[1]))


Days = Annotated[timedelta, BeforeValidator(_days)]


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Message bodies and attachments older than this are erased, once a day.
    messages: Days | None = None
