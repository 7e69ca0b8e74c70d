"""The shipped Rasa project (pipeline and training data) and training it into a model
file, cached by a hash of everything that goes into it."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlu.environment import (
    COMPONENTS_ROOT,
    PIPELINE_REQUIREMENTS,
    RASA_REQUIREMENT,
    Progress,
    RasaEnvironment,
    run_step,
)

PROJECT = Path(__file__).parent / "project"
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]+)\)|\{[^}]*\})")
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
_MODELS_KEPT = 3


@dataclass(frozen=True)
class Example:
    text: str  # as a customer would type it
    annotated: str  # with Rasa's [value](entity) marks
    intent: str


@dataclass(frozen=True)
class RasaProject:
    """A Rasa NLU project: `config.yml` (the pipeline) and `data/*.yml`."""

    root: Path = PROJECT

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def files(self) -> list[Path]:
        return [self.config, *sorted(self.data.glob("*.yml"))]

    def documents(self) -> list[dict[str, object]]:
        return [yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in self.files()[1:]]

    def examples(self) -> list[Example]:
        return [example for document in self.documents() for example in read_examples(document)]

    def other_blocks(self) -> list[dict[str, object]]:
        """Regexes, lookup tables and synonyms: everything that is not an intent."""
        return [b for d in self.documents() for b in _blocks(d) if "intent" not in b]

    def intents(self) -> list[str]:
        return sorted({example.intent for example in self.examples()})

    def entities(self) -> list[str]:
        names = {
            match.group(2)
            for example in self.examples()
            for match in _ANNOTATION.finditer(example.annotated)
            if match.group(2)
        }
        return sorted(names)

    def fingerprint(self) -> str:
        """Changes whenever the pipeline (its config, our components' source and the
        packages they use), the data or the Rasa version does."""
        digest = hashlib.sha256(" ".join([RASA_REQUIREMENT, *PIPELINE_REQUIREMENTS]).encode())
        components = sorted((COMPONENTS_ROOT / "pipeline").glob("*.py"))
        for path in [*self.files(), *components]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def model_path(self, models: Path) -> Path:
        return models / f"nlu-{self.fingerprint()}.tar.gz"

    def ensure_model(self, env: RasaEnvironment, models: Path, progress: Progress) -> Path:
        """The trained model for this project, training it only if the data changed."""
        target = self.model_path(models)
        if target.is_file():
            progress(f"NLU model is up to date: {target}")
            return target
        progress(
            f"Training the NLU model ({len(self.examples())} examples); this takes a few minutes"
        )
        train(env, self.config, self.data, target, progress)
        for old in sorted(models.glob("nlu-*.tar.gz"), key=lambda p: p.stat().st_mtime)[
            :-_MODELS_KEPT
        ]:
            old.unlink()
        return target


def train(env: RasaEnvironment, config: Path, data: Path, target: Path, progress: Progress) -> Path:
    """Run `rasa train nlu` and move the model to `target` only once it is complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as scratch:
        command = [
            str(env.python), "-m", "rasa", "train", "nlu",
            "--config", str(config), "--nlu", str(data),
            "--out", scratch, "--fixed-model-name", "model",
        ]  # fmt: skip
        run_step(command, progress, env=env.env(), shown=_EpochReporter())
        shutil.move(Path(scratch) / "model.tar.gz", target)
    progress(f"NLU model trained: {target}")
    return target


class _EpochReporter:
    """Keeps one line per 10% of DIET's epoch bar and the component steps."""

    def __init__(self) -> None:
        self.last = -1

    def __call__(self, line: str) -> str | None:
        if match := _EPOCHS.search(line):
            percent = int(match.group(1))
            if percent // 10 > self.last // 10:
                self.last = percent
                return f"training: {percent}% of epochs"
            return None
        if "Starting to train component" in line:
            return "training " + line.rsplit("component", 1)[-1].strip(" '.")
        return None


def read_examples(document: dict[str, object]) -> list[Example]:
    """The examples of a Rasa NLU YAML document, in order."""
    found = []
    for block in _blocks(document):
        if "intent" in block:
            for line in str(block.get("examples", "")).splitlines():
                annotated = line.strip().removeprefix("- ").strip()
                if annotated:
                    text = _ANNOTATION.sub(r"\1", annotated)
                    found.append(Example(text, annotated, str(block["intent"])))
    return found


def write_data(path: Path, examples: list[Example], other_blocks: list[dict[str, object]]) -> None:
    """Write examples (grouped by intent) and other blocks as a Rasa NLU YAML file."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.annotated)
    blocks = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in by_intent.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": "3.1", "nlu": [*blocks, *other_blocks]}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _blocks(document: dict[str, object]) -> list[dict[str, object]]:
    blocks = document.get("nlu")
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []
