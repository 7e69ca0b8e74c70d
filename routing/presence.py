"""The config section about where availability may also come from (`presence:`): with
`from_slack`, someone Slack shows as away, or inside a do-not-disturb window, is passed
over for new conversations, as with the away flag."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Presence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_slack: bool = False
