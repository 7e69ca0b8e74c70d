"""Which intents config.yml's rules send to a team or a person: what a conversation
transferred there turned out to be about, when the rules leave one answer (or a short
list for the employee to pick from)."""

from __future__ import annotations

from routing.config import RoutingConfig, Target


def intents_to(config: RoutingConfig, target: Target) -> tuple[str, ...]:
    """The intents whose rules lead to `target`, in the rules' order: for a team, the
    rules naming the team; for a person, those naming them or one of their teams.
    Rules without an intent (a customer tag, a channel) say nothing about a topic."""
    if target.team is not None:
        teams, person = {target.team}, None
    else:
        person = target.employee or ""
        teams = set(config.employee(person).teams) if config.has_employee(person) else set()
    found: list[str] = []
    for rule in config.rules:
        if rule.to.team in teams or (person and rule.to.employee == person):
            found += [intent for intent in rule.when.intent if intent not in found]
    return tuple(found)
