"""The naive baseline worker, run as `round_clock.py --naive-worker` in a
subprocess: the simple loop the service is compared against."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from harness.broker import AMQP_URL


async def naive_worker() -> None:
    """One deadline per transaction, one awaited publish per message."""
    import aio_pika

    from datemaker.runtime.bootstrap import open_dating_events
    from datemaker.logs import configure_logging
    from datemaker.app.outbox import POSITION_NAME, OutboxRelay
    from datemaker.adapters.fake_rooms import FakeRooms
    from datemaker.app.clock.round_clock import RoundClock
    from datemaker.settings import load_settings

    settings = load_settings()
    configure_logging(debug=False, level="WARNING")
    app = open_dating_events(settings)
    clock = RoundClock(app, FakeRooms(), batch=1)
    relay = OutboxRelay(app, publish=None, extensions=settings.bot_extensions)  # type: ignore[arg-type]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-naive-clock"})
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.rabbitmq_exchange, ensure=True)
        position = app.outbox_position(POSITION_NAME)
        print("NAIVE-READY", flush=True)
        while not stop.is_set():
            # Claims one deadline (one transaction), loads its event and fires
            # it (another): none of the service's batching, caching or looking ahead.
            claimed = app.claim_due(app.clock(), 30.0, 1)
            for deadline in claimed:
                clock.fire(deadline.wire_id, deadline.due_at)
            fired = len(claimed)
            last, messages = relay.read(position)
            for m in messages:
                await exchange.publish(
                    aio_pika.Message(body=m.body, headers=m.headers, message_id=m.message_id,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=settings.bot_routing_key,
                )
            if last != position:
                app.set_outbox_position(POSITION_NAME, last)
                position = last
            elif not fired:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)
        app.close()
