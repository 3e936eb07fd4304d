"""The relay lets a burst of commits settle before it reads: it waits until
the log's head stops moving, but never longer than its hold limit."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from datemaker.app.outbox import OutboxRelay


class GrowingLog:
    """A notification log whose head moves `moves` more times, then stays."""

    def __init__(self, moves: int) -> None:
        self.head, self.moves, self.asked = 100, moves, 0

    def max_notification_id(self) -> int:
        self.asked += 1
        if self.moves:
            self.moves -= 1
            self.head += 50
        return self.head


def relay_over(log: GrowingLog, **options: float) -> OutboxRelay:
    app = SimpleNamespace(recorder=log)
    return OutboxRelay(app, publish=None, quiet_seconds=0.001, **options)  # type: ignore[arg-type]


def test_reading_waits_until_the_head_stops_moving():
    log = GrowingLog(moves=3)
    asyncio.run(relay_over(log, max_hold_seconds=1.0)._let_burst_settle(asyncio.Event()))
    assert log.moves == 0 and log.asked == 4  # the head read, two looks that saw it move, one that saw it still


def test_a_log_that_never_settles_is_read_after_the_hold_limit():
    log = GrowingLog(moves=10**6)
    asyncio.run(relay_over(log, max_hold_seconds=0.005)._let_burst_settle(asyncio.Event()))
    assert log.asked <= 6  # 1 + at most hold / quiet looks
