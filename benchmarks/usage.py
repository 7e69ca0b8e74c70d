"""What processes cost: CPU seconds and resident memory from /proc (Linux), and a meter
that says how busy each process of the bench kept the machine's cores over a window."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks import heap

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process, all its threads included."""
    if pid == os.getpid():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_cpu_seconds() -> float:
    """CPU time of everything on the machine (the database server too), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def python_speed(repeats: int = 5) -> float:
    """Milliseconds a fixed piece of plain Python (calls, dicts, strings) takes here, the
    best of `repeats`: the same code runs at very different speeds on machines of one
    kind from day to day, and within an hour (55 to 113 ms on one machine one
    afternoon), so absolute figures of two runs compare only beside this."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        seen: dict[str, int] = {}
        for i in range(200_000):
            key = f"k{i % 1000}"
            seen[key] = seen.get(key, 0) + len(key)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def rss_mib(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Busy:
    """CPU seconds each process used over `wall` seconds."""

    wall: float
    cpu: Mapping[str, float]
    machine: float  # CPU seconds of the whole machine

    def cores(self) -> str:
        """E.g. "app 0.92, Slack double 0.21, clients 0.40; all 1.70 of 2 cores"."""
        shares = ", ".join(
            f"{name} {seconds / self.wall:.2f}" for name, seconds in self.cpu.items()
        )
        return f"{shares}; all {self.machine / self.wall:.2f} of {os.cpu_count()} cores"


class Meter:
    """CPU of named processes between `start()` and `stop()`."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._cpu: dict[str, float] = {}
        self._wall = self._machine = 0.0

    def start(self) -> None:
        """Also settles the bench's own heap: a measured run starts with no collection due."""
        heap.settle()
        self._wall, self._machine = time.monotonic(), machine_cpu_seconds()
        self._cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> Busy:
        wall = time.monotonic() - self._wall
        used = {name: cpu_seconds(pid) - self._cpu[name] for name, pid in self.pids.items()}
        return Busy(wall, used, machine_cpu_seconds() - self._machine)
