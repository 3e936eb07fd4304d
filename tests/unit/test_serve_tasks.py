"""The serve process's task runner: stop, failure and grace handling."""

from __future__ import annotations

import asyncio

from datemaker.runtime.tasks import run_tasks


def test_tasks_finish_their_work_when_stop_is_set():
    finished: list[str] = []

    async def worker(stop: asyncio.Event) -> None:
        await stop.wait()
        finished.append("flushed")

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(run_tasks([worker, worker], stop, grace=5))
        await asyncio.sleep(0)
        stop.set()
        await runner

    asyncio.run(main())
    assert finished == ["flushed", "flushed"]


def test_a_failing_task_stops_the_others():
    seen_stop: list[bool] = []

    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    async def steady(stop: asyncio.Event) -> None:
        await stop.wait()
        seen_stop.append(stop.is_set())

    async def main() -> bool:
        return await asyncio.wait_for(run_tasks([broken, steady], asyncio.Event(), grace=5), timeout=5)

    assert asyncio.run(main()) is False  # the process exits non-zero
    assert seen_stop == [True]


def test_a_task_that_ignores_stop_is_cancelled_after_the_grace():
    cancelled: list[bool] = []

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        await asyncio.wait_for(run_tasks([stubborn], stop, grace=0.01), timeout=5)

    asyncio.run(main())
    assert cancelled == [True]
