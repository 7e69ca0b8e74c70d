"""The shape of config.yml, validated with pydantic; every error names the file, the
line and the key."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Mapping
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    model_validator,
)

from routing.admins import unknown_admins
from routing.document import ConfigError, Document, Problem
from routing.escalation import Days, Duration, Escalation, holidays
from routing.files import Files
from routing.hours import HoursError, WorkingHours
from routing.limits import Limits, Widget
from routing.presence import Presence
from routing.ratings import Ratings
from routing.retention import Retention
from routing.texts import Texts

Channel = Literal["web", "telegram"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


def _parse_hours(value: object) -> WorkingHours:
    if isinstance(value, WorkingHours):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(
            'expected a mapping like {timezone: Europe/London, mon-fri: "09:00-17:30"}'
        )
    days = {str(k): v for k, v in value.items() if k != "timezone"}
    timezone = value.get("timezone")
    if not isinstance(timezone, str):
        raise HoursError("timezone", "missing; give an IANA name such as Europe/London")
    for key, ranges in days.items():
        if not isinstance(ranges, str):
            raise HoursError(key, 'write the hours as a quoted string, e.g. "09:00-17:30"')
    return WorkingHours.parse(timezone, days)


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
Hours = Annotated[WorkingHours, PlainValidator(_parse_hours)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Strict):
    name: str
    bot_name: str


class Triage(_Strict):
    min_confidence: float = Field(0.6, ge=0.0, le=1.0)
    collect: dict[str, Names] = Field(default_factory=dict)
    # How each intent is offered in the clarifying question; intents without a
    # topic are not offered.
    topics: dict[str, str] = Field(default_factory=dict)
    # A returning customer whose usual person cannot answer now chooses: wait for them,
    # or talk to the stand-in now (false: the stand-in, without asking).
    ask_to_wait: bool = True
    texts: Texts = Texts()


class Team(_Strict):
    id: Identifier
    name: str
    slack_channel: str | None = None
    first_reply_within: Duration | None = None  # unset: escalation.first_reply_within


class Employee(_Strict):
    id: Identifier
    name: str
    title: str
    photo_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    slack_user_id: Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")]
    teams: Annotated[tuple[Identifier, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    languages: Names = ("en",)
    max_open: int = Field(5, ge=1)
    hours: Hours
    holidays: tuple[Days, ...] = ()  # off besides the company's holidays

    @model_validator(mode="after")
    def _off_on_holidays(self) -> Employee:
        # Frozen, but still being made: `hours` is the one answer to "at work?".
        object.__setattr__(self, "hours", self.hours.off_on(holidays(self.holidays)))
        return self


class Condition(_Strict):
    """All given fields must match; within a field, any listed value matches."""

    intent: Names = ()
    entities: Names = ()
    channel: Annotated[tuple[Channel, ...], BeforeValidator(_as_tuple)] = ()
    language: Names = ()
    customer_tag: Names = ()


class Target(_Strict):
    team: str | None = None
    employee: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if (self.team is None) == (self.employee is None):
            raise ValueError("give exactly one of team or employee")
        return self

    def describe(self) -> str:
        return f"team {self.team}" if self.team is not None else f"employee {self.employee}"


class Rule(_Strict):
    name: str
    when: Condition = Condition()
    to: Target


class RoutingConfig(_Strict):
    company: Company
    triage: Triage = Triage()
    teams: tuple[Team, ...] = Field(min_length=1)
    employees: tuple[Employee, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()
    fallback: Target
    widget: Widget = Widget()
    limits: Limits = Limits()
    retention: Retention = Retention()
    ratings: Ratings = Ratings()
    files: Files = Files()
    escalation: Escalation = Escalation()
    presence: Presence = Presence()
    holidays: tuple[Days, ...] = ()  # the company's: nobody works
    admins: tuple[Identifier, ...] = ()  # employee ids who may sign in to the console

    @model_validator(mode="after")
    def _company_holidays(self) -> RoutingConfig:
        if self.holidays:
            off = holidays(self.holidays)
            employees = tuple(
                e.model_copy(update={"hours": e.hours.off_on(off)}) for e in self.employees
            )
            object.__setattr__(self, "employees", employees)  # still being made
        return self

    @cached_property
    def _teams(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}

    @cached_property
    def _employees(self) -> dict[str, Employee]:
        return {employee.id: employee for employee in self.employees}

    @cached_property
    def _members(self) -> dict[str, tuple[Employee, ...]]:
        return {
            team.id: tuple(e for e in self.employees if team.id in e.teams) for team in self.teams
        }

    def team(self, team_id: str) -> Team:
        return self._teams[team_id]

    def employee(self, employee_id: str) -> Employee:
        return self._employees[employee_id]

    def has_employee(self, employee_id: str) -> bool:
        return employee_id in self._employees

    def has_team(self, team_id: str) -> bool:
        return team_id in self._teams

    def members(self, team_id: str) -> tuple[Employee, ...]:
        return self._members[team_id]

    def first_reply_within(self, team_id: str | None) -> timedelta | None:
        """How soon a conversation routed within a team needs its first reply."""
        team = self._teams.get(team_id or "")
        if team is not None and team.first_reply_within is not None:
            return team.first_reply_within
        return self.escalation.first_reply_within


def load_config(
    path: Path, *, intents: Collection[str], entities: Collection[str]
) -> RoutingConfig:
    """Read and check a config file against the intents and entities the NLU knows.

    Raises ConfigError naming the file, line and key of every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [(None, "", f"cannot read: {exc.strerror}")]) from exc
    return parse_config(text, str(path), intents=intents, entities=entities)


def parse_config(
    text: str, source: str, *, intents: Collection[str], entities: Collection[str]
) -> RoutingConfig:
    document = Document.parse(text, source)
    if not isinstance(document.data, dict):
        raise ConfigError(
            source, [(1, "", "expected a mapping with company, teams, employees, rules, fallback")]
        )
    try:
        config = RoutingConfig.model_validate(document.data)
    except ValidationError as exc:
        raise _error(document, [_problem(error) for error in exc.errors()]) from None
    problems = _check_references(config, intents, entities)
    if problems:
        raise _error(document, problems)
    return config


def _error(document: Document, problems: list[Problem]) -> ConfigError:
    located = [(*document.locate(p.path), p.message) for p in problems]
    return ConfigError(document.source, sorted(located, key=lambda item: item[0] or 0))


def _problem(error: Any) -> Problem:
    path: tuple[str | int, ...] = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, HoursError):
        return Problem(path if cause.key is None else (*path, cause.key), str(cause))
    if error["type"] == "extra_forbidden":
        allowed = _field_names(path[:-1])
        hint = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return Problem(path, f"unknown key; {suggestion}allowed here: {', '.join(allowed)}")
    if error["type"] == "missing":
        return Problem(path, "required key is missing")
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = f"{error['input']!r} is not valid here ({message.lower()})"
    return Problem(path, message)


def _field_names(path: tuple[str | int, ...]) -> list[str]:
    """The keys a model accepts at `path`, found by walking the schema."""
    annotation: Any = RoutingConfig
    for segment in path:
        if isinstance(segment, int):
            annotation = _unwrap(annotation, item=True)
        else:
            annotation = _unwrap(annotation.model_fields[segment].annotation, item=False)
    return (
        list(annotation.model_fields)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel)
        else []
    )


def _unwrap(annotation: Any, *, item: bool) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None) and a is not Ellipsis]
    if item and args:
        return args[0]
    if isinstance(annotation, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _check_references(
    config: RoutingConfig, intents: Collection[str], entities: Collection[str]
) -> list[Problem]:
    problems: list[Problem] = []

    def unknown(path: tuple[str | int, ...], kind: str, name: str, known: Collection[str]) -> None:
        hint = difflib.get_close_matches(name, list(known), n=1)
        suggestion = (
            f"; did you mean {hint[0]!r}?" if hint else f"; known: {', '.join(sorted(known))}"
        )
        problems.append(Problem(path, f"unknown {kind} {name!r}{suggestion}"))

    team_ids = [team.id for team in config.teams]
    employee_ids = [employee.id for employee in config.employees]
    for collection, ids in (("teams", team_ids), ("employees", employee_ids)):
        for i, value in enumerate(ids):
            if value in ids[:i]:
                problems.append(Problem((collection, i, "id"), f"duplicate id {value!r}"))
    for i, employee in enumerate(config.employees):
        for j, team_id in enumerate(employee.teams):
            if team_id not in team_ids:
                unknown(("employees", i, "teams", j), "team", team_id, team_ids)
    for i, team in enumerate(config.teams):
        if not any(team.id in e.teams for e in config.employees):
            problems.append(Problem(("teams", i, "id"), f"team {team.id!r} has no employees"))
    problems += unknown_admins(config.admins, employee_ids)
    for intent, needed in config.triage.collect.items():
        if intent not in intents:
            unknown(("triage", "collect", intent), "intent", intent, intents)
        for j, entity in enumerate(needed):
            if entity not in entities:
                unknown(("triage", "collect", intent, j), "entity", entity, entities)
            elif entity not in config.triage.texts.ask:
                message = f"no question for {entity!r}: add triage.texts.ask.{entity}"
                problems.append(Problem(("triage", "collect", intent, j), message))
    for intent in config.triage.topics:
        if intent not in intents:
            unknown(("triage", "topics", intent), "intent", intent, intents)
    targets: list[tuple[tuple[str | int, ...], Target]] = [(("fallback",), config.fallback)]
    rule_names: list[str] = []
    for i, rule in enumerate(config.rules):
        if rule.name in rule_names:
            problems.append(Problem(("rules", i, "name"), f"duplicate rule name {rule.name!r}"))
        rule_names.append(rule.name)
        for field, known, kind in (("intent", intents, "intent"), ("entities", entities, "entity")):
            for j, name in enumerate(getattr(rule.when, field)):
                if name not in known:
                    unknown(("rules", i, "when", field, j), kind, name, known)
        targets.append((("rules", i, "to"), rule.to))
    for path, target in targets:
        if target.team is not None and target.team not in team_ids:
            unknown((*path, "team"), "team", target.team, team_ids)
        if target.employee is not None and target.employee not in employee_ids:
            unknown((*path, "employee"), "employee", target.employee, employee_ids)
    return problems


__all__ = [
    "Channel",
    "Company",
    "Condition",
    "ConfigError",
    "Employee",
    "RoutingConfig",
    "Rule",
    "Target",
    "Team",
    "Texts",
    "Triage",
    "load_config",
    "parse_config",
]
