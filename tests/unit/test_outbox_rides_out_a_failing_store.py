"""The outbox relay rides out a store that stops answering: it tries again
from its stored position instead of ending (and with it the service)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from datemaker.app.outbox import OutboxRelay
from datemaker.app.ports import StoreUnavailable


def test_the_relay_tries_again_after_the_store_failed():
    stop = asyncio.Event()
    asked: list[str] = []

    def outbox_position(name: str) -> int:
        asked.append(name)
        if len(asked) == 1:
            raise StoreUnavailable("terminating connection due to administrator command")
        stop.set()  # the second look finds the store back: enough for this test
        return 0

    app = SimpleNamespace(outbox_position=outbox_position)
    relay = OutboxRelay(app, publish=None)  # type: ignore[arg-type]
    asyncio.run(asyncio.wait_for(relay.run(stop), 5))
    assert len(asked) == 2
