"""One run of the bench: its options, results and databases, and the worker
under test (the service, or the naive baseline) each phase starts."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.broker import Broker
from harness.database import create_database, drop_database, make_settings
from harness.profiler import start_profiler
from harness.report import BenchFailure, log
from harness.service import Worker, service_env

# The entry script: the naive worker is this bench run with --naive-worker.
ENTRY_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "round_clock.py")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Run:
    args: argparse.Namespace
    suffix: str
    workdir: str
    results: dict[str, float] = field(default_factory=dict)
    failed: bool = False
    targets_missed: bool = False
    databases: list[str] = field(default_factory=list)

    def fail(self, variant: str) -> None:
        """A phase went wrong: the service's phases decide the exit status; a
        baseline's failure shows in its own line only."""
        if variant == "service":
            self.failed = True

    def drop(self, name: str) -> None:
        if self.args.keep_databases:
            log(f"kept database {name} (--keep-databases): drop it yourself")
        else:
            drop_database(name)

    def new_database(self) -> tuple[str, Any]:
        name = f"datemaker_bench_rc_{self.suffix}_{len(self.databases)}"
        create_database(name)
        self.databases.append(name)
        from datemaker.adapters.postgres.schema import apply_schema

        settings = make_settings(name, self.suffix, prefix="dm_rcbench")
        apply_schema(settings)
        return name, settings


def start_worker(run: Run, variant: str, settings: Any) -> Worker:
    if variant == "service":
        env = service_env(settings, run.args.service_env)
        return Worker("service", [sys.executable, "-m", "datemaker", "serve"], env, run.workdir, "bench-rc-")
    return Worker("naive", [sys.executable, ENTRY_SCRIPT, "--naive-worker"], service_env(settings), run.workdir,
                  "bench-rc-")


async def wait_ready(broker: Broker, worker: Worker, variant: str, timeout: float = 60) -> float:
    """Until the service's consumer is attached (or the naive worker says so);
    returns the wall-clock time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        worker.check_alive()
        if variant == "service":
            _, consumers = await broker.queue_state(broker.settings.rabbitmq_queue)
            if consumers:
                return time.time()
        elif "NAIVE-READY" in worker.output():
            return time.time()
        if time.monotonic() > deadline:
            raise BenchFailure(f"{worker.name} not ready after {timeout:.0f} s; output:\n{worker.output_tail()}")
        await asyncio.sleep(0.02)


async def sleep_until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - utc_now()).total_seconds()))


def start_phase_profiler(run: Run, pid: int, phase: str) -> subprocess.Popen[bytes] | None:
    """py-spy on the service when --py-spy asks for this phase."""
    if not run.args.py_spy or run.args.py_spy_phase != phase:
        return None
    options = ["--threads"] + (["--gil"] if run.args.py_spy_gil else []) + (
        ["--subprocesses"] if run.args.py_spy_children else [])
    return start_profiler(pid, run.args.py_spy, rate=200, options=options)
