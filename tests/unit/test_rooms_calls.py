"""One Meet call: paced, retried on 429/503 with jittered backoff inside the
caller's time budget, every attempt reported to the metrics observer."""

from __future__ import annotations

import random

import pytest
from google.api_core import exceptions as gx

from datemaker.adapters.meet.calls import Backoff, MeetCaller, MeetObserver, QuotaBudgetSpent
from datemaker.adapters.meet.google import no_active_conference
from datemaker.adapters.meet.pace import LocalPace

from ..support.clock import FakeClock


class Script:
    """A request that fails with the given errors, then answers "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture
def caller():
    clock = FakeClock()
    seen: dict[str, list] = {"calls": [], "waits": [], "sleeps": []}

    def sleep(seconds: float) -> None:
        seen["sleeps"].append(seconds)
        clock.advance(seconds=seconds)

    observer = MeetObserver(call=lambda m, o: seen["calls"].append((m, o)), quota_wait=lambda p, s: seen["waits"].append((p, s)))
    paces = {"write": LocalPace("write", 60, clock)}  # a slot a second
    return MeetCaller(paces, backoff=Backoff(attempts=4, base=1, cap=4), sleep=sleep, rng=random.Random(7), observer=observer), seen


def test_429_and_503_are_retried_with_jittered_backoff_and_every_attempt_is_reported(caller):
    meet, seen = caller
    request = Script(gx.TooManyRequests("slow down"), gx.ServiceUnavailable("busy"))
    assert meet.call("spaces.endActiveConference", "write", request, max_wait=60) == "done"
    assert request.calls == 3
    assert seen["calls"] == [("spaces.endActiveConference", o) for o in ("rate_limited", "unavailable", "ok")]
    backoffs = [s for s in seen["sleeps"] if ("write", s) not in seen["waits"]]
    assert len(backoffs) == 2 and backoffs[0] <= 1 and backoffs[1] <= 2


def test_other_errors_are_not_retried(caller):
    meet, seen = caller
    request = Script(gx.Forbidden("no"))
    with pytest.raises(gx.Forbidden):
        meet.call("spaces.create", "write", request, max_wait=60)
    assert request.calls == 1 and seen["calls"] == [("spaces.create", "http_403")]


def test_no_active_conference_counts_as_done(caller):
    meet, seen = caller
    assert meet.call("end", "write", Script(gx.BadRequest("The space has no active conference.")), max_wait=60, accept=no_active_conference) is None
    assert meet.call("end", "write", Script(gx.NotFound("gone")), max_wait=60, accept=no_active_conference) is None
    with pytest.raises(gx.BadRequest):
        meet.call("end", "write", Script(gx.BadRequest("malformed name")), max_wait=60, accept=no_active_conference)
    assert [o for _, o in seen["calls"]] == ["no_active_conference", "not_found", "http_400"]


def test_calls_wait_for_their_slot_and_give_up_when_none_is_free_in_time(caller):
    meet, seen = caller
    assert [meet.call("read", "write", Script(), max_wait=5) for _ in range(2)] == ["done", "done"]
    assert seen["waits"] == [("write", 1.0)]  # the second waited a second for its slot
    meet.paces["write"].take(10)  # someone else holds the next slot
    request = Script()
    with pytest.raises(QuotaBudgetSpent):
        meet.call("read", "write", request, max_wait=0.5)
    assert request.calls == 0


class Longest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b  # the longest backoff jitter allows


def test_retries_stop_when_backing_off_again_would_overrun_the_budget(caller):
    meet, _ = caller
    meet.rng = Longest()
    request = Script(*[gx.ServiceUnavailable("busy")] * 3)
    with pytest.raises(gx.ServiceUnavailable):
        meet.call("read", "write", request, max_wait=2.5)  # backoffs 1 s, then 2 s: 3 s > 2.5 s
    assert request.calls == 2
