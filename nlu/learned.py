"""Examples people accepted from employees' transfers (`frontdesk nlu suggestions
--accept`), kept in the project's data/learned.yml beside the hand-written data: the
training reads every data/*.yml and the model's fingerprint covers them, so the next
`frontdesk nlu train` (or `make run`) retrains with them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from nlu.training import Example, RasaProject, read_examples, write_data

LEARNED = "learned.yml"


def learned_file(project: RasaProject) -> Path:
    return project.data / LEARNED


def learn(project: RasaProject, examples: Sequence[tuple[str, str]]) -> list[Example]:
    """Add (text, intent) examples to data/learned.yml; the ones added. Words the data
    has already (in any file, for any intent) are left out: under a second intent they
    would teach nothing but doubt."""
    path = learned_file(project)
    document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    kept = read_examples(document or {})
    known = {_same(e.text) for e in project.examples()}
    added = []
    for text, intent in examples:
        # Square brackets would read as an entity annotation ([value](entity)).
        plain = " ".join(text.replace("[", "(").replace("]", ")").split())
        if plain and _same(plain) not in known:
            known.add(_same(plain))
            added.append(Example(plain, plain, intent))
    if added:
        write_data(path, [*kept, *added], [])
    return added


def _same(text: str) -> str:
    return " ".join(text.casefold().split())
