"""The event log's followers (the outbox relay, the analytics tables) in
processes of their own, started and watched by `datemaker serve`.

Why: at a round boundary the clock saves a thousand events while tens of
thousands of messages go out; in one process they share one interpreter
lock, and the clock's deadlines slip by seconds. A follower process keeps
its place in the database, so stopping or losing one loses nothing: it is
started again and goes on from its stored position. Children die with
their parent (also on kill -9), and report their counters back, so one
/metrics endpoint still tells everything."""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from datemaker.app.pause import pause
from datemaker.logs import configure_logging, get_logger
from datemaker.runtime.bootstrap import Container
from datemaker.runtime.follower_tasks import follower_task
from datemaker.runtime.tasks import serve_tasks
from datemaker.settings import Settings

log = get_logger(__name__)

# Analytics tables may trail by seconds; the clock and the outbox may not.
LOW_PRIORITY = {"analytics": 10}
RESTART_PAUSE_SECONDS = 1.0
REPORT_EVERY_SECONDS = 0.5
Report = dict[tuple[str, str], int]  # (counter, label) -> increment


@dataclass
class Follower:
    role: str
    process: BaseProcess
    reports: Connection  # counters the process sends back

    def stop_at_once(self) -> None:
        self.process.kill()
        self.process.join()
        self.reports.close()


def start_follower(role: str, settings: Settings, fork: bool = False) -> Follower:
    """`fork` only from a process that has no threads and no connections yet
    (serve, before it opens anything): the child starts at once with every
    module loaded. Otherwise a fresh interpreter, which takes a second."""
    context = multiprocessing.get_context("fork" if fork else "spawn")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=child_main, args=(role, settings, writer, os.getpid()), name=f"datemaker-{role}")
    process.start()
    writer.close()
    log.info("follower process started", role=role, pid=process.pid)
    return Follower(role, process, reader)


async def supervise(role: str, settings: Settings, stop: asyncio.Event, on_report: Callable[[Report], None],
                    first: Follower | None = None, grace: float = 10.0) -> None:
    """Keep one `role` process running until `stop` (starting with `first`
    when it was started early), then stop it: SIGTERM, SIGKILL after `grace`."""
    loop = asyncio.get_running_loop()
    follower = first
    while not stop.is_set():
        follower = follower or start_follower(role, settings)
        process, reader = follower.process, follower.reports
        exited = loop.create_future()
        loop.add_reader(process.sentinel, lambda: exited.done() or exited.set_result(None))
        loop.add_reader(reader.fileno(), _forward, reader, on_report)
        try:
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set() and process.is_alive():
                process.terminate()
                await asyncio.to_thread(process.join, grace)
                if process.is_alive():
                    log.warning("follower process did not stop in time", role=role, grace_seconds=grace)
                    process.kill()
            await asyncio.to_thread(process.join)
        finally:
            loop.remove_reader(process.sentinel)
            loop.remove_reader(reader.fileno())
            _forward(reader, on_report)  # what it reported last
            reader.close()
        follower = None
        if not stop.is_set():
            log.error("follower process exited; starting it again", role=role, exit_code=process.exitcode)
            await pause(stop, RESTART_PAUSE_SECONDS)


def _forward(reader: Connection, on_report: Callable[[Report], None]) -> None:
    try:
        while reader.poll():
            on_report(reader.recv())
    except (EOFError, OSError):
        pass  # the child is gone; its sentinel says so too


def child_main(role: str, settings: Settings, report: Connection, parent: int) -> None:
    _die_with_parent(parent)
    if role in LOW_PRIORITY:
        os.nice(LOW_PRIORITY[role])
    configure_logging(debug=settings.debug, level=settings.log_level)
    container = Container(settings, opens_personal_data=False)  # neither the outbox nor the analytics need them
    counts: Counter[tuple[str, str]] = Counter()
    task = follower_task(role, container, lambda name, label: counts.update([(name, label)]))

    async def send_counts(stop: asyncio.Event) -> None:
        while True:
            if counts:
                report.send(dict(counts))
                counts.clear()
            if stop.is_set():
                return
            await pause(stop, REPORT_EVERY_SECONDS)

    try:
        healthy = serve_tasks("postgres", [task, send_counts])
    finally:
        container.close()
    sys.exit(0 if healthy else 1)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when its parent dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
