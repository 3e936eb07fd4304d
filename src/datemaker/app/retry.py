"""Trying again: exponential backoff with full jitter, for every retry in
datemaker (conflicting saves, a failing store, Meet's 429 and 503). Sleep
and chance are injected, so tests never wait."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    attempts: int = 5
    base: float = 1.0  # seconds; doubled each attempt, with full jitter
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * 2**attempt))


class GaveUp(Exception):
    """Every attempt failed with an error worth retrying."""


def retrying(
    attempt: Callable[[], T],
    *,
    backoff: Backoff,
    on: tuple[type[BaseException], ...],
    sleep: Callable[[float], None],
    rng: random.Random,
    on_retry: Callable[[int, BaseException], None] = lambda n, exc: None,
) -> T:
    """`attempt()` until it returns, pausing between tries that raised one of
    `on`; GaveUp (from the last error) after `backoff.attempts` of them."""
    for n in range(backoff.attempts):
        try:
            return attempt()
        except on as exc:
            on_retry(n, exc)
            last = exc
        sleep(backoff.delay(n, rng))
    raise GaveUp(f"gave up after {backoff.attempts} attempts") from last
