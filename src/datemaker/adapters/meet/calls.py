"""One Meet API call: paced under its quota, retried on 429 and 503 with
backoff and jitter, and reported to an observer (the metrics hooks).

google-apps-meet retries 503 on reads only, and never 429 or a create,
update or end, so retrying is done here, once, for every kind of call (the
library's own retry is switched off per call). Sleep and chance are
injected: tests never wait."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import requests
from google.api_core import exceptions as gx

from datemaker.adapters.meet.pace import Pace
from datemaker.app.retry import Backoff
from datemaker.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")


def _ignore(*_: object) -> None:
    pass


@dataclass(frozen=True)
class MeetObserver:
    """Plain callables for metrics; each defaults to doing nothing."""

    rooms_reserved: Callable[[int], None] = _ignore  # rooms made by one reserve()
    call: Callable[[str, str], None] = _ignore  # (method, outcome) of every attempt
    quota_wait: Callable[[str, float], None] = _ignore  # (pace name, seconds waited for a slot)


class QuotaBudgetSpent(Exception):
    """No slot of the pace was free within the time the caller allowed."""


# Worth another try later: the quota (429), or the service (503, no answer).
RETRYABLE: dict[type[BaseException], str] = {
    gx.TooManyRequests: "rate_limited",
    gx.ServiceUnavailable: "unavailable",
    requests.exceptions.ConnectionError: "unreachable",
    requests.exceptions.Timeout: "unreachable",
}


def outcome_of(exc: BaseException) -> str:
    for kind, outcome in RETRYABLE.items():
        if isinstance(exc, kind):
            return outcome
    if isinstance(exc, gx.GoogleAPICallError) and exc.code is not None:
        return f"http_{int(exc.code)}"
    return "error"


class MeetCaller:
    def __init__(
        self,
        paces: Mapping[str, Pace],
        *,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        observer: MeetObserver | None = None,
    ) -> None:
        self.paces = paces
        self.backoff = backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.observer = observer or MeetObserver()

    def call(
        self,
        method: str,
        pace: str,
        request: Callable[[], T],
        *,
        max_wait: float,
        accept: Callable[[BaseException], str | None] = lambda exc: None,
    ) -> T | None:
        """`request()` once a slot of `pace` is free, retried on 429/503,
        spending at most `max_wait` seconds waiting in all (slots, backoff).
        An error `accept` names (e.g. "no active conference") counts as done:
        it is reported under that name and None is returned."""
        waited = 0.0
        for attempt in range(self.backoff.attempts):
            waited += self._wait_for_slot(pace, max_wait - waited)
            try:
                result = request()
            except Exception as exc:
                accepted = accept(exc)
                if accepted is not None:
                    self.observer.call(method, accepted)
                    return None
                outcome = outcome_of(exc)
                self.observer.call(method, outcome)
                delay = self.backoff.delay(attempt, self.rng)
                if outcome not in RETRYABLE.values() or attempt + 1 == self.backoff.attempts or waited + delay > max_wait:
                    raise
                waited += delay
                log.warning("meet call will be retried", method=method, outcome=outcome, delay_seconds=round(delay, 3))
                self.sleep(delay)
                continue
            self.observer.call(method, "ok")
            return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait_for_slot(self, pace: str, max_wait: float) -> float:
        wait = self.paces[pace].take(max(max_wait, 0.0))
        if wait is None:
            raise QuotaBudgetSpent(f"no {pace} slot within {max_wait:.1f}s")
        if wait > 0:
            self.observer.quota_wait(pace, wait)
            self.sleep(wait)
        return wait
