"""`frontdesk serve` as `make run` starts it: its own Rasa child, no Slack, SQLite."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.server import free_port

ROOT = Path(__file__).parent.parent.parent


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
    try:
        health: dict[str, str] = {}
        deadline = time.monotonic() + 300
        while health.get("nlu") != "ready" and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
            except httpx.TransportError:
                continue
        assert health == {"status": "ok", "nlu": "ready", "slack": "not connected"}
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "Slack is not connected" in page
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
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    assert "Slack is not connected" in stderr
    assert f"http://127.0.0.1:{port}/" in stderr
    time.sleep(1)
    for pid in children:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        ), "Rasa outlived the app"
