"""Where the app's Python time goes, with py-spy (`pip install py-spy`), when the bench
runs with BENCH_PROFILE=1: the app is sampled over a measured window and the stacks are
summed up by package, by the function running and by Frontdesk's own functions.

Only the thread holding the GIL is sampled (`--gil`): otherwise threads that wait (the
SQLite driver's worker on its queue, the event loop in epoll) count as busy. Work done
without the GIL (inside SQLite, uvloop's I/O) is left out. Sampling costs CPU on the
same cores, so the figures of a profiled run are not comparable with a plain one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

OURS = ("bot", "routing", "nlu")


def enabled() -> bool:
    return bool(os.environ.get("BENCH_PROFILE"))


@dataclass
class Profile:
    summary: str = ""  # empty when not profiled

    def print(self) -> None:
        if self.summary:
            print(self.summary, flush=True)


@contextlib.asynccontextmanager
async def profile(pid: int, output: Path) -> AsyncIterator[Profile]:
    """Sample `pid` while the block runs, if enabled and py-spy is found."""
    found = Profile()
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not enabled() or spy is None:
        found.summary = "" if not enabled() else "  (no profile: pip install py-spy)"
        yield found
        return
    await asyncio.to_thread(output.unlink, True)  # a stale profile must not be summed up
    command = [spy, "record", "--format", "raw", "--rate", "200", "--nonblocking", "--gil",
               "--pid", str(pid), "--output", str(output)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        yield found
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        await process.wait()
    found.summary = await asyncio.to_thread(_summary_of, output)


def _summary_of(output: Path) -> str:
    return summary(output.read_text()) if output.exists() else "  profile: py-spy wrote nothing"


def summary(raw: str, top: int = 12) -> str:
    """Collapsed stacks ("frame;frame;... count", each frame "function (file:line)")
    summed up three ways."""
    packages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for row in raw.splitlines():
        stack, _, count = row.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        packages[_package(frames[-1])] += samples
        leaves[_function(frames[-1])] += samples
        # What runs inside the event loop; the CLI that started it is on every stack.
        inside = [i for i, f in enumerate(frames) if "asyncio/runners.py" in f]
        work = frames[inside[-1] + 1 :] if inside else frames
        for function in {_function(f) for f in work if _package(f) in OURS}:
            ours[function] += samples
    if not total:
        return "  profile: no samples"

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"    {title}:"]
        rows += [f"      {n / total:6.1%}  {name}" for name, n in counts.most_common(top)]
        return rows

    lines = [f"  profile of the app (py-spy, {total} samples of the thread holding the GIL):"]
    lines += table("by package (the function running)", packages)
    lines += table("by function running (self)", leaves)
    lines += table("Frontdesk functions on the stack (inclusive)", ours)
    return "\n".join(lines)


def _location(frame: str) -> str:
    return frame.rpartition(" (")[2].rstrip(")")


def _package(frame: str) -> str:
    path = _location(frame).rpartition(":")[0]
    if "/" not in path:
        return path or "?"
    first = path.split("/")[0]
    return "stdlib asyncio" if first == "asyncio" else first


def _function(frame: str) -> str:
    name, _, location = frame.rpartition(" (")
    return f"{name} ({location.rstrip(')').rpartition(':')[0]})"
