"""A failure in a background task (forgetting old replies) is logged, counted
and tried again soon; the task goes on instead of ending the service."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from datemaker.adapters.observability.metrics import Metrics
from datemaker.app.ports import StoreUnavailable
from datemaker.runtime import wiring


class FlakyStore:
    def __init__(self) -> None:
        self.calls = 0

    def forget_handled_before(self, seconds: int) -> int:
        self.calls += 1
        if self.calls == 1:
            raise StoreUnavailable("terminating connection due to administrator command")
        return 3


def test_forgetting_old_replies_survives_a_failing_store_and_counts_the_failure():
    store = FlakyStore()
    metrics = Metrics()
    service = wiring.Service(SimpleNamespace(app=store), metrics, None, None, None)  # type: ignore[arg-type]
    task = service._background("forget_old_replies", service._forget_old_replies, every=3600.0)

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(task(stop))
        for _ in range(500):  # bounded: the retry comes within a second
            if store.calls >= 2 or running.done():
                break
            await asyncio.sleep(0.01)
        assert not running.done()  # it did not end with the failure
        stop.set()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert store.calls == 2  # tried again soon, not an hour later
    failures = metrics.registry.get_sample_value("datemaker_background_task_failures_total",
                                                 {"task": "forget_old_replies"})
    assert failures == 1
