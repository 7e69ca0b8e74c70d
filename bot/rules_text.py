"""The console's rule editor, as text: the rules a form describes (one row per rule: its
order, name, `when` and `to` in config.yml's own flow syntax, and a remove box), and a
config whose `rules:` section is rewritten from them. Everything else in the file, its
comments too, is kept; comments inside the `rules:` section are not (the page says so)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from routing import Rule

_TOP = re.compile(r"^[^\s#-]")  # a line that starts a top-level key
_RULES = re.compile(r"^rules:")


@dataclass(frozen=True)
class Row:
    """One rule as the form shows it (`when` and `to` without their braces)."""

    name: str
    when: str
    to: str


class BadRow(Exception):
    """A row that is not a rule yet: the message names it."""


def as_row(rule: Rule) -> Row:
    when = rule.when.model_dump(exclude_defaults=True)
    to = rule.to.model_dump(exclude_none=True)
    return Row(
        rule.name, _flow({k: list(v) if len(v) > 1 else v[0] for k, v in when.items()}), _flow(to)
    )


def _flow(value: Mapping[str, Any]) -> str:
    if not value:
        return ""
    dumped = yaml.safe_dump(dict(value), default_flow_style=True, width=1_000_000, sort_keys=False)
    return dumped.strip()[1:-1]  # without the braces


def from_form(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rules in the order the form gives them (`order.N`, then row), without the
    removed ones and blank rows; BadRow when a row's fields cannot be read."""
    rows: list[tuple[float, int, dict[str, Any]]] = []
    for index in itertools.takewhile(lambda i: f"name.{i}" in form, itertools.count()):
        name = form[f"name.{index}"].strip()
        when, to = form.get(f"when.{index}", "").strip(), form.get(f"to.{index}", "").strip()
        if form.get(f"remove.{index}") or not (name or when or to):
            continue
        number = index + 1  # as the page numbers rules
        order = form.get(f"order.{index}", "").strip() or str(number)
        try:
            position = float(order)
        except ValueError:
            raise BadRow(f"Rule {number}: order is a number, not {order!r}.") from None
        rule: dict[str, Any] = {"name": name}
        if when:
            rule["when"] = _mapping(when, number, "Matches", "intent: [refund, billing]")
        rule["to"] = _mapping(to, number, "Sends to", "team: billing")
        rows.append((position, number, rule))
    return [rule for _position, _number, rule in sorted(rows, key=lambda r: (r[0], r[1]))]


def _mapping(text: str, number: int, field: str, example: str) -> dict[str, Any]:
    try:
        found = yaml.safe_load("{" + text + "}")
    except yaml.YAMLError:
        found = None
    if not isinstance(found, dict):
        raise BadRow(f"Rule {number}: {field} is written like `{example}`, not {text!r}.")
    return found


def with_rules(text: str, rules: list[dict[str, Any]]) -> str:
    """`text` with its top-level `rules:` section replaced by `rules` (added at the end
    when it has none)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _RULES.match(line)), None)
    head = lines[start] if start is not None and "#" in lines[start] else "rules:"
    written = [head] if rules else ["rules: []"]
    for rule in rules:
        written.append(f"  - name: {_scalar(rule['name'])}")
        for key in ("when", "to"):
            if key in rule:
                written.append(f"    {key}: {{{_flow(rule[key])}}}")
    if start is None:
        return "\n".join([*lines, "", *written]) + "\n"
    end = start + 1
    while end < len(lines) and not _TOP.match(lines[end]):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines before the next key stay between the sections
    return "\n".join([*lines[:start], *written, *lines[end:]]) + "\n"


def _scalar(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=1_000_000)
        .removesuffix("\n...\n")
        .strip()
    )
