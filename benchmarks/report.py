"""Printing figures the same way in every benchmark."""

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def line(name: str, value: float, unit: str) -> None:
    print(f"  {name:<44} {value:>12,.2f} {unit}")


def latencies(name: str, seconds: Sequence[float], scale: float = 1000.0, unit: str = "ms") -> None:
    line(f"{name} p50", percentile(seconds, 50) * scale, unit)
    line(f"{name} p95", percentile(seconds, 95) * scale, unit)
