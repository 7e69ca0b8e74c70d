"""The config sections about what the widget and the channels accept: whether the site
must vouch for its visitors (`widget:`), and how much one visitor, chat or network
address may send (`limits:`). Limits are counted per app instance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Widget(_Section):
    # Refuse visitors the site does not vouch for (Frontdesk.identify with a hash).
    require_identity: bool = False


class Limits(_Section):
    # Per widget visitor or Telegram chat: a burst, then this many a minute.
    messages_per_minute: int = Field(20, ge=1)
    message_burst: int = Field(10, ge=1)
    # Per network address, all its visitors together.
    # Many people can share one address (an office, a mobile carrier's NAT).
    address_messages_per_minute: int = Field(600, ge=1)
    max_message_chars: int = Field(4000, ge=1, le=16000)
    sockets_per_address: int = Field(100, ge=1)
    sockets_per_visitor: int = Field(10, ge=1)  # per widget token: a person's tabs
    new_visitors_per_minute: int = Field(60, ge=1)  # per address: new widget tokens
