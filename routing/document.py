"""A YAML document that remembers the line of every key, so config errors can point at it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """YAML that reads no dates by itself: the key that wants one reads it and can say
    what is wrong with it (PyYAML raises a bare ValueError for 2026-13-24)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file: where (a path of keys and indexes) and what."""

    path: Path
    message: str


class ConfigError(Exception):
    """A config file that cannot be used; `str()` lists every problem with file and line."""

    def __init__(self, source: str, problems: Sequence[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for line, key, message in self.problems:
            where = f"{self.source}:{line}" if line else self.source
            out.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        return out


@dataclass(frozen=True)
class Document:
    """Parsed YAML data plus the 1-based line of each mapping key and sequence item."""

    source: str
    data: Any
    lines: dict[Path, int]

    @classmethod
    def parse(cls, text: str, source: str) -> Document:
        try:
            node = yaml.compose(text, Loader=_Loader)
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - safe: a SafeLoader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise ConfigError(source, [(line, "", f"not valid YAML: {exc}")]) from exc
        lines: dict[Path, int] = {}
        duplicates: list[tuple[int | None, str, str]] = []
        if node is not None:
            _index(node, (), lines, duplicates)
        if duplicates:
            raise ConfigError(source, duplicates)
        return cls(source, data, lines)

    def locate(self, path: Path) -> tuple[int | None, str]:
        """The line and display name for a path that may contain segments the YAML
        lacks (a missing key, or a validator's inner names); those are skipped,
        except a final missing key, which is named at its parent's line."""
        found: list[str | int] = []
        line = None
        for i, segment in enumerate(path):
            candidate = (*found, segment)
            if candidate in self.lines:
                found.append(segment)
                line = self.lines[candidate]
            elif i == len(path) - 1 and isinstance(segment, str) and not segment.startswith("["):
                return line, format_path((*found, segment))
        return line, format_path(tuple(found))


def format_path(path: Path) -> str:
    """`('rules', 1, 'to', 'team')` -> `rules[1].to.team`."""
    text = ""
    for segment in path:
        text += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return text.lstrip(".")


def _index(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    duplicates: list[tuple[int | None, str, str]],
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            line = key_node.start_mark.line + 1
            if key_path in lines:
                first = lines[key_path]
                duplicates.append(
                    (line, format_path(key_path), f"duplicate key (first at line {first})")
                )
                continue
            lines[key_path] = line
            _index(value_node, key_path, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines, duplicates)
