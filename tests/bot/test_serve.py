"""`frontdesk serve` as `make run` starts it: its own Rasa child, no Slack, SQLite."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx

from tests.fakes.server import free_port

ROOT = Path(__file__).parent.parent.parent


class Lines:
    """Reads a process's output as it comes, so that a test can wait for a line."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                with self._changed:
                    self.lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for(self, words: str, timeout: float) -> bool:
        """Whether a line with `words` came before the output ended or `timeout` passed."""
        with self._changed:
            self._changed.wait_for(lambda: self.ended or words in self.text(), timeout)
            return words in self.text()

    def text(self) -> str:
        return "".join(self.lines)

    def close(self, timeout: float) -> str:
        self._reader.join(timeout)
        return self.text()


def test_serve_starts_its_own_nlu_runs_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "RASA_URL"))
    }
    environment |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fd.db'}",
        "FRONTDESK_HOME": str(ROOT / ".frontdesk"),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "frontdesk"), "serve", "--port", str(port)],
        cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    output = Lines(server.stderr)
    try:
        assert output.wait_for('"event": "NLU ready"', timeout=300), output.text()
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health == {"status": "ok", "nlu": "ready", "slack": "not connected"}
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "Slack is not connected" in page
        httpx.get(f"http://127.0.0.1:{port}/admin/sign-in?token=SeCrEt-LiNk")
        rasa = subprocess.run(
            ["pgrep", "-P", str(server.pid), "-f", "rasa run"],
            capture_output=True,
            text=True,
            check=False,
        )
        children = [pid for pid in rasa.stdout.split() if pid]
        assert len(children) == 1, "the managed Rasa server is not the app's child"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    stderr = output.close(timeout=60)
    assert server.returncode == 0
    assert "Slack is not connected" in stderr
    assert f"http://127.0.0.1:{port}/" in stderr
    assert "GET /admin/sign-in?… HTTP/1.1" in stderr  # the access log keeps no query
    assert "SeCrEt-LiNk" not in stderr
    # The app waits for its Rasa child before it exits: it is gone now, not soon.
    for pid in children:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        ), "Rasa outlived the app"
