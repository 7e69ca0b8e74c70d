"""deploy/ against the code it ships, so the two cannot drift apart unseen (no Docker
here to build the images): the Rasa image installs what nlu/environment.py installs in
the managed Rasa venv and runs Rasa with the environment that venv gets; the
containers' environment file names exactly the variables bot/settings.py reads."""

import os
import re
import shlex
from pathlib import Path, PurePosixPath

import pytest

from bot.settings import Settings
from nlu.environment import PIPELINE_REQUIREMENTS, RASA_REQUIREMENT, RasaEnvironment

DEPLOY = Path(__file__).parent.parent / "deploy"
_CONTINUED = re.compile(r"\\\n(?:[ \t]*#[^\n]*\n)*")  # a comment inside a RUN is dropped


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    text = _CONTINUED.sub(" ", dockerfile.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def image_environment(steps: list[tuple[str, str]]) -> dict[str, str]:
    return dict(
        pair.split("=", 1) for word, rest in steps if word == "ENV" for pair in shlex.split(rest)
    )


def copied_to(steps: list[tuple[str, str]], source: str) -> PurePosixPath:
    """Where a COPY puts `source`, against the WORKDIR in force there."""
    workdir = PurePosixPath("/")
    for word, rest in steps:
        if word == "WORKDIR":
            workdir = workdir / rest
        elif word == "COPY":
            *sources, destination = [a for a in shlex.split(rest) if not a.startswith("--")]
            if sources == [source]:
                return workdir / destination
    raise AssertionError(f"no COPY {source} in the Dockerfile")


RASA_IMAGE = instructions(DEPLOY / "rasa.Dockerfile")


def test_the_rasa_image_installs_what_the_managed_rasa_venv_does() -> None:
    installs = [
        shlex.split(rest) for word, rest in RASA_IMAGE if word == "RUN" and "pip install" in rest
    ]
    assert any(RASA_REQUIREMENT in words for words in installs), RASA_REQUIREMENT
    # With their own dependencies they would replace Rasa's numpy and pull in torch.
    unpinned = [
        pin
        for pin in PIPELINE_REQUIREMENTS
        if not any(pin in words and "--no-deps" in words for words in installs)
    ]
    assert unpinned == [], "not installed with --no-deps at this pin"
    assert next(rest for word, rest in RASA_IMAGE if word == "FROM").startswith("python:3.10")


def test_the_rasa_image_runs_rasa_as_the_managed_server_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        monkeypatch.delenv(name)
    wanted = RasaEnvironment(Path("/unused")).env()
    environment = image_environment(RASA_IMAGE)
    # Rasa imports config.yml's `pipeline.*` components from the project it trains on.
    assert environment.get("PYTHONPATH") == str(copied_to(RASA_IMAGE, "nlu/project"))
    del wanted["PYTHONPATH"], wanted["RASA_CACHE_DIRECTORY"]  # a path of the image's own
    assert {name: environment.get(name) for name in wanted} == wanted


class _Reads(dict[str, str]):
    """An empty environment that notes every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name: str, default: object = None) -> None:  # type: ignore[override]
        self.asked.add(name)


def test_the_environment_file_names_every_setting_and_nothing_else() -> None:
    reads = _Reads()
    Settings.from_env(reads)
    example = (DEPLOY / "frontdesk.env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    # FRONTDESK_HOME is the image's (app.Dockerfile); POSTGRES_PASSWORD the database's.
    assert named - {"POSTGRES_PASSWORD"} == reads.asked - {"FRONTDESK_HOME"}
    app_image = image_environment(instructions(DEPLOY / "app.Dockerfile"))
    assert "FRONTDESK_HOME" in app_image
