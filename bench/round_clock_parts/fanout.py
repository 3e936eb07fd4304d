"""Phase 2, fan-out: one round start shared by many events, to the bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from harness.profiler import stop_profiler
from harness.report import BenchFailure, fmt, log, out, pct
from harness.service import Worker, cpu_seconds
from round_clock_parts.analysis import read_log
from round_clock_parts.app_setup import open_app, setup_events
from round_clock_parts.bot import Arrivals, drain
from round_clock_parts.run import sleep_until, start_phase_profiler, start_worker, utc_now, wait_ready
from round_clock_parts.store_watch import CommitWatch, Probe

if TYPE_CHECKING:
    from round_clock_parts.bot import RoundClockBroker
    from round_clock_parts.run import Run

TARGET_FANOUT_SECONDS = 5.0
# Fan-out: round 1 at B = S + 5; close at B-30, rules at B-15. Rounds are
# long, so nothing else falls due while the boundary is measured.
FANOUT_READY_GRACE = 5
FANOUT_RULES_BEFORE_B = 15


async def phase_fanout(run: Run, broker: RoundClockBroker, variant: str, count: int) -> None:
    from datemaker.domain.dating_event import DatingEvent
    from datemaker.domain.timings import Timings
    from datemaker.app.outbox import POSITION_NAME

    label = "" if variant == "service" else " baseline=naive"
    people = run.args.fanout_people
    lead = run.args.fanout_lead if variant == "service" else run.args.baseline_fanout_lead
    dbname, settings = await asyncio.to_thread(run.new_database)
    app = await asyncio.to_thread(open_app, settings)
    probe = await asyncio.to_thread(Probe, dbname)
    watch = await asyncio.to_thread(CommitWatch, dbname)
    worker: Worker | None = None
    profiler = None
    queue = await broker.bot_queue()
    finished = False
    try:
        # Set-up and start-up must end before confirmation closes at B - lead.
        budget = 5.0 + count * people * 0.0003
        boundary = (utc_now() + timedelta(seconds=budget + lead)).replace(microsecond=0)
        start = boundary - timedelta(seconds=FANOUT_READY_GRACE)
        timings = Timings(confirm_before=24 * 3600, confirm_deadline=lead - FANOUT_READY_GRACE,
                          rules_before=FANOUT_RULES_BEFORE_B - FANOUT_READY_GRACE, round_length=300,
                          break_length=60, ready_grace=FANOUT_READY_GRACE, rating_deadline=600)
        assert timings.round_starts_at(start, 1) == boundary
        t0 = time.perf_counter()
        planned = await asyncio.to_thread(setup_events, app, count, lambda i: start, timings,
                                          lambda i: people, confirm=True)
        # Set-up's own messages (confirm_registration) went out long ago in reality.
        last_id = await asyncio.to_thread(app.recorder.max_notification_id)
        await asyncio.to_thread(app.set_outbox_position, POSITION_NAME, last_id)
        setup_s = time.perf_counter() - t0
        out(f"round_clock setup phase=fanout{label} events={count} registrations={count * people}"
            f" confirmations={count * people} seconds={fmt(setup_s)}")
        worker = start_worker(run, variant, settings)
        ready_at = await wait_ready(broker, worker, variant)
        close_at = timings.confirmation_closes_at(start)
        log(f"fanout{label}: worker ready {close_at.timestamp() - ready_at:.1f} s before confirmation closes,"
            f" boundary in {boundary.timestamp() - time.time():.1f} s")
        if ready_at > boundary.timestamp() - lead / 2:
            raise BenchFailure(f"set-up and start-up left only {boundary.timestamp() - ready_at:.1f} s before the"
                               f" boundary: raise --fanout-lead/--baseline-fanout-lead (now {lead} s)")
        # One second before the boundary: every event waits only for round 1,
        # and the outbox has published everything before it.
        await sleep_until(boundary - timedelta(seconds=1.5))
        worker.check_alive()
        actions = await asyncio.to_thread(probe.deadline_actions)
        waiting = await asyncio.to_thread(probe.waiting_for, "begin", boundary)
        backlog = await asyncio.to_thread(probe.outbox_backlog)
        if waiting != count or backlog:
            raise BenchFailure(f"not ready 1.5 s before the boundary: {waiting} of {count} events wait for round 1"
                               f" (deadlines {dict(actions)}), outbox {backlog} notifications behind;"
                               f" raise --fanout-lead/--baseline-fanout-lead (now {lead} s)")
        before, _ = await broker.queue_state(queue.name)
        await queue.purge()
        position_before = await asyncio.to_thread(app.outbox_position, POSITION_NAME)
        expected = count * people * 2  # invite + partner profile per person (balanced: all paired)
        if variant == "service":
            profiler = start_phase_profiler(run, worker.pid, "fanout")
        log(f"fanout{label}: ready; {before} pre-boundary messages purged; expecting {expected} at the boundary")
        # The measurement: poll the queue depth (and the deadlines table) from B.
        await sleep_until(boundary)
        cpu_at_b = cpu_seconds(worker.pid)
        b = boundary.timestamp()
        first_s = done_s = None
        give_up = b + run.args.timeout
        polls = 0
        while True:
            depth, _ = await broker.queue_state(queue.name)
            now = time.time()
            polls += 1
            if depth and first_s is None:
                first_s = now - b
            if depth >= expected:
                done_s = now - b
                cpu_s = cpu_seconds(worker.pid) - cpu_at_b
                break
            if polls % 50 == 0:
                worker.check_alive()
            if now > give_up:
                left = await asyncio.to_thread(probe.waiting_for, "begin")
                raise BenchFailure(f"only {depth} of {expected} messages {run.args.timeout:.0f} s after the boundary"
                                   f" ({left} events still wait for round 1)")
            await asyncio.sleep(0.01)
        stop_profiler(profiler)
        profiler = None
        worker.check_alive()
        code = worker.stop()
        if code not in (0, None):
            log(f"{worker.name} exited with {code}; output ends:\n{worker.output_tail()}")
        # Check what arrived and what the store says.
        arrivals = Arrivals(keep_bodies=True)
        await drain(queue, arrivals, expected, 60)
        per_event: Counter[int] = Counter()
        bad_invites = 0
        for mid, body in arrivals.bodies.items():
            _, wire, round_no, command, _ = mid.split(":")
            if command == "invite_to_meeting":
                per_event[int(wire)] += 1
                invite = json.loads(body)["invite_to_meeting"]
                if int(round_no) != 1 or not invite.get("url", "").startswith("https://"):
                    bad_invites += 1
        recorded = await asyncio.to_thread(read_log, app, position_before)
        started = [(n, e) for n, e in recorded if isinstance(e, DatingEvent.Started)]
        decided = sorted((e.at - boundary).total_seconds() * 1e3 for _, e in started)
        commits = sorted(c - b for n, _ in started if (c := watch.committed_at(n)) is not None)
        clock_s = commits[-1] if commits else float("nan")
        invitations = arrivals.commands["invite_to_meeting"]
        correct = (invitations == count * people and arrivals.commands["send_partner_profile"] == count * people
                   and len(started) == count and all(per_event[w] == people for w in planned)
                   and bad_invites == 0 and arrivals.duplicates == 0 and len(arrivals.seen) == expected)
        extra = ""
        if variant == "service":
            run.results["fanout_seconds"] = done_s
        else:
            extra = f" per_1000_events_seconds={fmt(done_s * 1000 / count, 1)}(linear)"
            run.results["naive_fanout_seconds_per_1000"] = done_s * 1000 / count
        out(f"round_clock fanout{label} events={count} invitations={invitations} messages={len(arrivals.seen)}"
            f" seconds={fmt(done_s)}{extra} first_message_ms={first_s * 1e3:.0f}"
            f" first_commit_ms={commits[0] * 1e3 if commits else float('nan'):.0f} clock_seconds={fmt(clock_s)}"
            f" decided_p50_ms={pct(decided, 50):.0f} decided_max_ms={decided[-1] if decided else float('nan'):.0f}"
            f" messages_per_second={expected / done_s:.0f} worker_cpu_seconds={fmt(cpu_s, 2)} setup_seconds={fmt(setup_s)}"
            f" duplicate_messages={arrivals.duplicates} correct={str(correct).lower()}")
        if not correct:
            run.fail(variant)
            log(f"fanout{label}: commands {dict(arrivals.commands)}, started {len(started)},"
                f" events short of invites {sum(per_event[w] != people for w in planned)}, bad invites {bad_invites}")
        finished = True
    finally:
        stop_profiler(profiler)
        if worker is not None:
            if worker.stop() not in (0, None) or not finished:
                log(f"{worker.name} output ends:\n{worker.output_tail()}")
            worker.discard_log(run.args.keep_service_log)
        with contextlib.suppress(Exception):
            await queue.delete(if_unused=False, if_empty=False)
        await asyncio.to_thread(watch.close)
        await asyncio.to_thread(probe.close)
        await asyncio.to_thread(app.close)
        await asyncio.to_thread(run.drop, dbname)
