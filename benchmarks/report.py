"""Printing figures the same way in every benchmark."""

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def failure(exc: BaseException) -> str:
    """An exception as a reader wants it: its message, or its kind if it has none."""
    return str(exc) or type(exc).__name__


def heading(title: str) -> None:
    print(f"\n{title}", flush=True)


def line(name: str, value: float, unit: str) -> None:
    print(f"  {name:<44} {value:>12,.2f} {unit}", flush=True)


def text(words: str) -> None:
    print(f"  {words}", flush=True)


def latencies(name: str, seconds: Sequence[float], scale: float = 1000.0, unit: str = "ms") -> None:
    line(f"{name} p50", percentile(seconds, 50) * scale, unit)
    line(f"{name} p95", percentile(seconds, 95) * scale, unit)


def spread(seconds: Sequence[float]) -> str:
    """Two percentiles in milliseconds, as "p50 12.3 ms p95 45.6 ms"."""
    p50, p95 = percentile(seconds, 50) * 1000, percentile(seconds, 95) * 1000
    return f"p50 {p50:.1f} ms p95 {p95:.1f} ms"
