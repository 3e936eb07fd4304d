"""The service's phases: throughput from a full queue, then latency at an
offered rate."""

from __future__ import annotations

import asyncio
import sys
import time

from commands_parts.bot import BotSide, wait_replies
from commands_parts.run import Run, start_phase_profiler
from harness.profiler import stop_profiler
from harness.report import BenchFailure, fmt, log, out, pct
from harness.service import Worker, service_env


async def phase_service_throughput(
    run: Run, bot: BotSide, user_ids: list[int], event_id: int
) -> Worker:
    """Returns the running service, for the latency phase."""
    n = len(user_ids)
    collector = bot.expect("throughput", n)
    await bot.prepublish("throughput", run.settings.inbound_routing_key, user_ids, event_id)
    ready, _ = await bot.queue_state(run.settings.rabbitmq_queue)
    if ready != n:
        raise BenchFailure(f"throughput: {ready} of {n} commands in queue {run.settings.rabbitmq_queue}")
    argv = [sys.executable, "-m", "datemaker", "serve"]
    service = Worker("service", argv, service_env(run.settings, run.args.service_env), run.workdir)
    profiler = None
    try:
        t0 = await bot.wait_for_consumer(run.settings.rabbitmq_queue, service, 60)
        profiler = start_phase_profiler(run, service.pid, "throughput")
        await wait_replies(collector, run.args.timeout, "throughput", service)
    except BaseException:
        stop_profiler(profiler)
        service.stop()
        log(f"service output ends:\n{service.output_tail()}")
        service.discard_log()
        raise
    stop_profiler(profiler)
    seconds = (collector.last_ns - t0) / 1e9  # type: ignore[operator]
    first_ms = (collector.first_ns - t0) / 1e6  # type: ignore[operator]

    def registered() -> list[int]:
        from datemaker.runtime.bootstrap import open_dating_events

        app = open_dating_events(run.settings)
        try:
            return app.get_event(event_id).registered_user_ids
        finally:
            app.close()

    stored = await asyncio.to_thread(registered)
    correct = (
        collector.all_registered()
        and len(stored) == n
        and sorted(stored) == sorted(user_ids)
        and collector.duplicates == 0
    )
    run.results["per_second"] = n / seconds
    out(
        f"commands throughput n={n} seconds={fmt(seconds)} per_second={n / seconds:.0f}"
        f" startup_seconds={fmt((t0 - service.started) / 1e9)} first_reply_ms={first_ms:.1f}"
        f" registered={len(stored)} correct={str(correct).lower()}"
    )
    if not correct:
        run.failed = True
        log(f"throughput wrong replies: {collector.wrong()} duplicates={collector.duplicates}")
    return service


async def phase_latency(run: Run, bot: BotSide, service: Worker, user_ids: list[int], event_id: int) -> None:
    rate = run.args.rate
    total = len(user_ids)
    collector = bot.expect("latency", total)
    loop = asyncio.get_running_loop()
    routing_key = run.settings.inbound_routing_key
    max_lag_ns = 0
    profiler = start_phase_profiler(run, service.pid, "latency")
    t0 = loop.time()
    t0_ns = time.monotonic_ns()
    i = 0
    while i < total:
        due = min(total, int((loop.time() - t0) * rate) + 1)
        while i < due:
            now = time.monotonic_ns()
            max_lag_ns = max(max_lag_ns, now - (t0_ns + i * 1_000_000_000 // rate))
            await bot.fast_exchange.publish(
                bot.message("latency", i, user_ids[i], event_id, sent_ns=now), routing_key=routing_key
            )
            i += 1
        if i % 500 == 0:
            service.check_alive()
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
    offered_seconds = (time.monotonic_ns() - t0_ns) / 1e9
    try:
        await wait_replies(collector, run.args.timeout, "latency", service)
    finally:
        stop_profiler(profiler)
    lat_ms = sorted((collector.received_ns[s] - collector.sent_ns[s]) / 1e6 for s in collector.sent_ns)

    def registered() -> int:
        from datemaker.runtime.bootstrap import open_dating_events

        app = open_dating_events(run.settings)
        try:
            return len(app.get_event(event_id).registered_user_ids)
        finally:
            app.close()

    stored = await asyncio.to_thread(registered)
    correct = collector.all_registered() and stored == total and len(lat_ms) == total
    p50, p90, p99 = (pct(lat_ms, p, rank=round) for p in (50, 90, 99))
    run.results["p99_ms"] = p99
    out(
        f"commands latency rate={rate} n={total} p50_ms={p50:.1f} p90_ms={p90:.1f}"
        f" p99_ms={p99:.1f} max_ms={lat_ms[-1]:.1f} offered_per_second={total / offered_seconds:.0f}"
        f" max_send_lag_ms={max_lag_ns / 1e6:.1f} registered={stored} correct={str(correct).lower()}"
    )
    if not correct:
        run.failed = True
        log(f"latency wrong replies: {collector.wrong()} duplicates={collector.duplicates}")
