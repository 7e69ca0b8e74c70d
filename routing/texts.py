"""What the bot says to customers (`triage.texts:` in config.yml): every text with its
default, and the {placeholders} each may use, checked when the config is read."""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _placeholders(allowed: set[str]) -> Any:
    """A template string whose {placeholders} must all be known."""

    def check(value: str) -> str:
        used = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
        if unknown := used - allowed:
            names = ", ".join(sorted(unknown))
            raise ValueError(
                f"unknown placeholder {names}; available: {', '.join(sorted(allowed))}"
            )
        return value

    return AfterValidator(check)


_BOT = {"bot_name", "company"}
_PERSON = {"name", "first_name", "title", "hours", "when"}


class Texts(BaseModel):
    """What the bot says. `{placeholders}` are filled in; each key lists its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: Annotated[str, _placeholders(_BOT)] = (
        "Hi! I'm {bot_name}, a bot. I'll put you in touch with the right person at "
        "{company}. What can we help you with?"
    )
    intro: Annotated[str, _placeholders(_BOT)] = (
        "Hi, I'm {bot_name}, a bot. I'll find the right person at {company} for you."
    )
    clarify: Annotated[str, _placeholders(set())] = (
        "So I get you to the right person: is it about one of these?"
    )
    something_else: Annotated[str, _placeholders(set())] = "Something else"
    goodbye: Annotated[str, _placeholders(set())] = (
        "Thanks for getting in touch! Write here any time you need us."
    )
    not_given: Annotated[str, _placeholders(set())] = "No problem, I'll pass it on as it is."
    nlu_down: Annotated[str, _placeholders(set())] = (
        "I can't read messages right now, so I've passed yours straight to a person."
    )
    # A handoff is introduced in two sentences: who will answer, and when.
    handoff: Annotated[str, _placeholders(_PERSON)] = "{name} ({title}) will answer you here."
    welcome_back: Annotated[str, _placeholders(_PERSON)] = (
        "Welcome back! {name}, who helped you last time, will answer you here."
    )
    standing_in: Annotated[str, _placeholders(_PERSON | {"previous", "why"})] = (
        "{previous} helped you last time but {why}, so {name} ({title}) will answer you here."
    )
    # The choice a returning customer gets when their usual person cannot answer now
    # (`triage.ask_to_wait`), with `wait_option` and `now_option` as quick replies.
    wait_or_now: Annotated[
        str, _placeholders(_PERSON | {"previous", "previous_first_name", "why"})
    ] = (
        "{previous} helped you last time but {why}. Would you like to wait for "
        "{previous_first_name}, or talk to {name} ({title}) now?"
    )
    wait_option: Annotated[str, _placeholders({"previous_first_name"})] = (
        "Wait for {previous_first_name}"
    )
    now_option: Annotated[str, _placeholders(_PERSON)] = "Talk to {first_name} now"
    transferred: Annotated[str, _placeholders(_PERSON | {"previous"})] = (
        "{previous} has passed your conversation to {name} ({title}), who will answer you here."
    )
    # Nobody replied within `first_reply_within` (see `escalation:`).
    escalated: Annotated[str, _placeholders(_PERSON | {"previous"})] = (
        "{previous} hasn't been able to answer yet, so {name} ({title}) is taking over "
        "and will answer you here."
    )
    # When the person usually replies: from how fast they did lately (`replies_within`,
    # with {reply_time} such as "about 10 minutes"), else from their hours (`usually`).
    replies_within: Annotated[str, _placeholders(_PERSON | {"reply_time"})] = (
        "{first_name} usually replies within {reply_time}."
    )
    usually: Annotated[str, _placeholders(_PERSON)] = "{first_name} usually answers {hours}."
    later: Annotated[str, _placeholders(_PERSON)] = (
        "{first_name} is back {when}. Your message is saved, so you can close this window."
    )
    busy: Annotated[str, _placeholders(_PERSON)] = (
        "{first_name} is helping other customers right now and will answer as soon as possible."
    )
    away: Annotated[str, _placeholders(_PERSON)] = (
        "{first_name} is away right now; your message is saved and will be answered."
    )
    linked: Annotated[str, _placeholders(set())] = (
        "Done: your chat on our website and this chat are now linked, so your history "
        "and the people who helped you follow you here."
    )
    link_expired: Annotated[str, _placeholders(set())] = (
        "That link has expired or was already used; open a new one from the chat on our "
        "website. You can also just write here."
    )
    closed: Annotated[str, _placeholders({"name"})] = (
        "{name} closed this conversation. Write here any time to start a new one."
    )
    ask: dict[str, Annotated[str, _placeholders(set())]] = Field(
        default_factory=lambda: {
            "order_id": "What's your order number? It's in your order confirmation e-mail.",
            "email": "Which e-mail address is your account under?",
        }
    )
