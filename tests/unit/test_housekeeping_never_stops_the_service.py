"""A failure in housekeeping (forgetting old replies) is logged and tried
again next time; the task goes on instead of ending the service."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

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


def test_forgetting_old_replies_survives_a_failing_store(monkeypatch):
    monkeypatch.setattr(wiring, "FORGET_REPLIES_EVERY_SECONDS", 0.001)
    store = FlakyStore()
    service = wiring.Service(SimpleNamespace(app=store), None, None, None, None)  # type: ignore[arg-type]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service._forget_old_replies(stop))
        for _ in range(500):  # bounded: a few passes are enough
            if store.calls >= 2 or task.done():
                break
            await asyncio.sleep(0.01)
        assert not task.done()  # it did not end with the failure
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert store.calls >= 2
