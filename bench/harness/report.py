"""What the benchmarks print: `key=value` result lines on stdout, progress
as `# ...` lines on stderr, and the figures' formatting."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable


class BenchFailure(Exception):
    """A phase could not complete; the message says what was seen."""


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def out(line: str) -> None:
    print(line, flush=True)


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def pct(sorted_values: list[float], p: float, *, rank: Callable[[float], int] = math.ceil) -> float:
    """The p-th percentile of sorted values (nearest rank). `rank` turns
    p/100 * n into a rank; the commands bench has always rounded it."""
    if not sorted_values:
        return float("nan")
    n = len(sorted_values)
    return sorted_values[min(n - 1, max(0, rank(p / 100 * n) - 1))]


def dist(name: str, values: list[float]) -> str:
    """`{name}p50_ms=... {name}p90_ms=... {name}p99_ms=... {name}max_ms=...`"""
    v = sorted(values)
    if not v:
        return f"{name}_n=0"
    return (f"{name}p50_ms={pct(v, 50):.1f} {name}p90_ms={pct(v, 90):.1f} {name}p99_ms={pct(v, 99):.1f}"
            f" {name}max_ms={v[-1]:.1f}")


def print_targets(bench: str, checks: Iterable[tuple[str, str, str, bool]]) -> bool:
    """One `{bench} target name=... want=... got=... met=...` line per
    (name, want, got, met); returns whether every target was met."""
    met_all = True
    for name, want, got, met in checks:
        out(f"{bench} target name={name} want={want} got={got} met={str(met).lower()}")
        met_all = met_all and met
    return met_all
