"""The wheel that a non-editable `pip install .` makes (deploy/app.Dockerfile does) holds
every file of our packages, not only their Python modules: the widget's and console's
static files, the migrations and the Rasa project are opened from the installed package
at run time, and `frontdesk serve` fails on start without them."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("bot", "routing", "nlu")
# What deploy/app.Dockerfile copies into its build stage before `pip install .`.
CONTEXT = ("pyproject.toml", "README.md", *PACKAGES)
_LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc")


def _source_files() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _wheel(tmp_path: Path) -> Path:
    """Build as the image does, from a copy (a build writes build/ and *.egg-info into its
    source tree, and this one is shared), offline, with the venv's setuptools."""
    source, out = tmp_path / "source", tmp_path / "wheel"
    for name in CONTEXT:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=_LEFT_OUT)
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--quiet", "--wheel-dir", str(out), str(source)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, (
        f"pip wheel failed (pyproject.toml's build-system needs setuptools>=77 in this "
        f"venv: `pip install -e '.[dev]'`):\n{built.stdout}\n{built.stderr}"
    )
    (wheel,) = out.glob("frontdesk-*.whl")
    return wheel


def test_the_wheel_holds_every_file_of_our_packages(tmp_path: Path) -> None:
    with zipfile.ZipFile(_wheel(tmp_path)) as wheel:
        packed = {name for name in wheel.namelist() if not name.startswith("frontdesk-")}
        entry_points = wheel.read(
            next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
        )
    expected = _source_files()
    # The ones the app opens at run time, named so that a move cannot empty the check.
    assert {"bot/static/widget.js", "bot/static/demo.html", "nlu/project/config.yml"} <= expected
    assert any(name.startswith("bot/migrations/versions/0001_") for name in expected)
    assert sorted(expected - packed) == []
    assert b"frontdesk = bot.cli:main" in entry_points
