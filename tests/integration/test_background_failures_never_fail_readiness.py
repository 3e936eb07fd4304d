"""Only the consumer, the round clock and the outbox decide readiness: the
service's housekeeping failing on every pass is logged, counted by task and
tried again, and /readyz stays 200 all along. An event the clock keeps
failing is named in a detail line, never a reason to fail."""

from __future__ import annotations

import asyncio
import re

import pytest

from datemaker.runtime.bootstrap import Container
from datemaker.runtime.tasks import run_tasks
from datemaker.runtime.wiring import build_service

from ..support.bot_harness import WAIT, TestBot, broker_settings, run
from ..support.http_probe import get

pytestmark = pytest.mark.rabbitmq


def failures(metrics: str, task: str) -> float:
    found = re.search(r'^datemaker_background_task_failures_total\{task="%s"\} (\S+)$' % task, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_failing_housekeeping_is_counted_and_leaves_the_service_ready(sqlite_settings, monkeypatch):
    settings = broker_settings(sqlite_settings)
    container = Container(settings)
    calls = []

    def broken(seconds: int) -> int:
        calls.append(seconds)
        raise RuntimeError("the replies table is gone")

    monkeypatch.setattr(container.app, "forget_handled_before", broken)
    service = build_service(container, metrics_port=0)
    health = service.health
    assert health is not None
    health.start()

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()  # the topology the service consumes from
        stop = asyncio.Event()
        runner = asyncio.create_task(run_tasks(service.tasks(), stop, grace=5))
        try:
            deadline = asyncio.get_running_loop().time() + WAIT
            while True:  # until it failed a few times and the rest runs
                status, text = await asyncio.to_thread(get, health.port, "/readyz")
                if len(calls) >= 3 and status == 200:
                    break
                assert not runner.done(), "the service stopped"
                assert asyncio.get_running_loop().time() < deadline, (status, text, len(calls))
                await asyncio.sleep(0.05)
            assert text == "ready\n"
            _, metrics = await asyncio.to_thread(get, health.port, "/metrics")
            assert failures(metrics, "forget_old_replies") >= 3
            assert failures(metrics, "schedules") == 0
            assert 'datemaker_background_task_failures_total{task="platform_writes"} 0.0' in metrics

            service.clock.failing.attempts[41] = 2  # as the clock records an event whose step fails
            status, text = await asyncio.to_thread(get, health.port, "/readyz")
            assert (status, text) == (200, "ready\nevents failing: 41\n")
            assert not runner.done()
        finally:
            stop.set()
            assert await asyncio.wait_for(runner, WAIT + 5)  # healthy: no task failed
            await bot.close()

    try:
        run(scenario)
    finally:
        health.stop()
        container.close()
