import os
import stat
from pathlib import Path

import pytest

from nlu import RasaSetupError
from nlu.environment import (
    COMPONENTS_ROOT,
    PIPELINE_REQUIREMENTS,
    RASA_REQUIREMENT,
    RasaEnvironment,
    find_python310,
    run_step,
)


def fake_python(path: Path, version: str) -> Path:
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_an_explicit_python310_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = fake_python(tmp_path / "py", "3.10")
    monkeypatch.setenv("FRONTDESK_PYTHON310", str(python))
    assert find_python310() == python


def test_a_missing_python310_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = fake_python(tmp_path / "python3.10", "3.12")  # a shim answering for another version
    monkeypatch.setenv("FRONTDESK_PYTHON310", str(wrong))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path))
    if Path("/usr/bin/python3.10").exists() or Path("/usr/local/bin/python3.10").exists():
        pytest.skip("this machine has a system python3.10")
    with pytest.raises(RasaSetupError, match=r"pyenv install 3\.10") as caught:
        find_python310()
    assert "RASA_URL" in str(caught.value)


def test_this_machine_finds_a_python310() -> None:
    assert find_python310().exists()


def test_a_venv_is_ready_only_with_the_marker(tmp_path: Path) -> None:
    env = RasaEnvironment(tmp_path / "venv")
    assert not env.is_ready()
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / ".frontdesk-installed").write_text(
        "\n".join([RASA_REQUIREMENT, *PIPELINE_REQUIREMENTS])
    )
    assert env.is_ready()
    assert env.env()["RASA_TELEMETRY_ENABLED"] == "false"
    assert env.env()["PYTHONPATH"] == str(COMPONENTS_ROOT)


def test_a_venv_made_before_the_pipeline_packages_only_gets_those(tmp_path: Path) -> None:
    """Rasa stays as it is (no 4-minute reinstall); the packages go in without their
    dependencies, so Rasa's pins are untouched."""
    env = RasaEnvironment(tmp_path / "venv")
    (env.root / "bin").mkdir(parents=True)
    (env.root / ".frontdesk-installed").write_text(RASA_REQUIREMENT + "\n")
    calls = tmp_path / "calls"
    fake_python(env.python, "3.10").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    printed: list[str] = []
    assert env.ensure(printed.append).is_ready()
    assert calls.read_text().split() == [
        "-m", "pip", "install", "--no-deps", *PIPELINE_REQUIREMENTS
    ]  # fmt: skip
    assert env.ensure(printed.append) == env
    assert len(calls.read_text().splitlines()) == 1  # nothing more once ready


def test_a_failing_step_shows_its_last_lines() -> None:
    printed: list[str] = []
    command = ["sh", "-c", "echo one; printf 'two\\rthree\\n'; echo boom >&2; exit 3"]
    with pytest.raises(RasaSetupError, match="exit 3") as caught:
        run_step(
            command,
            printed.append,
            env=dict(os.environ),
            shown=lambda line: None if line == "one" else line,
        )
    assert printed == ["  two", "  three", "  boom"]
    assert "| one" in str(caught.value)
