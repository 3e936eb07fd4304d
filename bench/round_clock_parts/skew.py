"""Phase 1, skew: deadlines of many concurrent events fired on time."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from harness.profiler import stop_profiler
from harness.report import BenchFailure, dist, fmt, log, out, pct
from harness.service import Worker, cpu_seconds
from round_clock_parts.analysis import analyse_store, expected_message_ids, message_due
from round_clock_parts.app_setup import confirm_everyone, open_app, setup_events
from round_clock_parts.bot import BotListener
from round_clock_parts.run import start_phase_profiler, start_worker, utc_now, wait_ready
from round_clock_parts.store_watch import CommitWatch, Probe

if TYPE_CHECKING:
    from round_clock_parts.bot import RoundClockBroker
    from round_clock_parts.run import Run

TARGET_SKEW_P99_MS = 200.0
COHORTS = 3  # skew: start times S0, S0+1 s, S0+2 s

# Skew timings (seconds): open S-10, close S-4, rules S-2, round 1 at S+1,
# rounds of 3 s, breaks of 1 s, ratings lock 2 s after the last round.
SKEW_TIMINGS = dict(confirm_before=10, confirm_deadline=4, rules_before=2, round_length=3,
                    break_length=1, ready_grace=1, rating_deadline=2)


async def phase_skew(run: Run, broker: RoundClockBroker, variant: str, count: int) -> None:
    from datemaker.domain.timings import Timings

    label = "" if variant == "service" else " baseline=naive"
    dbname, settings = await asyncio.to_thread(run.new_database)
    app = await asyncio.to_thread(open_app, settings)
    probe = await asyncio.to_thread(Probe, dbname)
    watch = await asyncio.to_thread(CommitWatch, dbname)
    worker: Worker | None = None
    profiler = None
    bot = await asyncio.to_thread(BotListener, broker.settings.rabbitmq_exchange, broker.settings.bot_routing_key)
    arrivals = bot.arrivals
    finished = False
    try:
        timings = Timings(**SKEW_TIMINGS)
        # The first deadline (confirmation opens at S0-10) lies --lead seconds ahead.
        s0 = (utc_now() + timedelta(seconds=run.args.lead + timings.confirm_before)).replace(microsecond=0)
        t0 = time.perf_counter()
        planned = await asyncio.to_thread(
            setup_events, app, count, lambda i: s0 + timedelta(seconds=i % COHORTS), timings,
            lambda i: 4 + i % 3, confirm=False)
        setup_s = time.perf_counter() - t0
        people = sum(len(p.people) for p in planned.values())
        out(f"round_clock setup phase=skew{label} events={count} people={people} seconds={fmt(setup_s)}")
        first_due = timings.confirmation_opens_at(s0)
        last_due = max(timings.ratings_lock_at(p.start, 3) for p in planned.values())
        worker = start_worker(run, variant, settings)
        ready_at = await wait_ready(broker, worker, variant)
        if ready_at > first_due.timestamp() - 0.5:
            raise BenchFailure(f"{worker.name} was ready only {ready_at - first_due.timestamp():+.1f} s from the"
                               f" first deadline: raise --lead (now {run.args.lead} s)")
        log(f"skew{label}: {count} events, {people} people; first deadline in"
            f" {first_due.timestamp() - time.time():.1f} s, last in {last_due.timestamp() - time.time():.1f} s")
        cpu_at_ready = cpu_seconds(worker.pid)
        if variant == "service":
            profiler = start_phase_profiler(run, worker.pid, "skew")
        # Confirmation opens (fired by the clock), then everyone confirms.
        close_due = timings.confirmation_closes_at(s0)
        while True:
            worker.check_alive()
            actions = await asyncio.to_thread(probe.deadline_actions)
            if actions["close_confirmation"] == count:
                break
            if utc_now() > close_due:
                raise BenchFailure(f"confirmation not open everywhere when it should close: {dict(actions)}")
            await asyncio.sleep(0.05)
        c0 = time.perf_counter()
        confirmed = await asyncio.to_thread(confirm_everyone, app, planned)
        log(f"skew{label}: {confirmed} confirmations in {time.perf_counter() - c0:.2f} s,"
            f" {(close_due - utc_now()).total_seconds():.2f} s before confirmation closes")
        # Until every event is over (nothing left in the deadlines table).
        give_up = last_due + timedelta(seconds=run.args.timeout)
        while True:
            worker.check_alive()
            actions = await asyncio.to_thread(probe.deadline_actions)
            if not actions:
                break
            if utc_now() > give_up:
                raise BenchFailure(f"events not over {run.args.timeout:.0f} s after the last deadline:"
                                   f" still waiting {dict(actions)}")
            await asyncio.sleep(0.1)
        over_at = utc_now()
        while (backlog := await asyncio.to_thread(probe.outbox_backlog)) > 0:
            worker.check_alive()
            if utc_now() > over_at + timedelta(seconds=run.args.timeout):
                raise BenchFailure(f"outbox still {backlog} notifications behind {run.args.timeout:.0f} s after the end")
            await asyncio.sleep(0.1)
        cpu_s = cpu_seconds(worker.pid) - cpu_at_ready
        # Every message the log calls for (as the relay computes them) must
        # reach the bench's queue: wait for the last ones, bounded.
        expected_ids = await asyncio.to_thread(expected_message_ids, app)
        settle = time.monotonic() + 15
        while not expected_ids <= bot.refresh().seen.keys() and time.monotonic() < settle:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(bot.close)
        stop_profiler(profiler)
        profiler = None
        worker.check_alive()
        code = worker.stop()
        if code not in (0, None):
            log(f"{worker.name} exited with {code}; output ends:\n{worker.output_tail()}")
        outcome = await asyncio.to_thread(analyse_store, app, planned, watch)
        late_ms = (over_at - last_due).total_seconds() * 1e3
        delivered = []
        for mid, arrived in arrivals.seen.items():
            _, wire, round_no, command, _ = mid.split(":")
            due = message_due(command, int(round_no), planned[int(wire)], outcome.rounds_of.get(int(wire), 0))
            if due is not None:
                delivered.append((arrived - due.timestamp()) * 1e3)
        left = await asyncio.to_thread(probe.deadline_actions)
        missing = expected_ids - arrivals.seen.keys()
        unexpected = arrivals.seen.keys() - expected_ids
        correct = (not outcome.problems and outcome.finished == count and not left and arrivals.duplicates == 0
                   and not missing and not unexpected and not outcome.roomless_dates)
        committed = sorted(outcome.committed_ms)
        if outcome.unwatched:
            log(f"skew{label}: the commit watcher missed {outcome.unwatched} steps (not in the figures)")
        if variant == "service":
            run.results["skew_p99_ms"] = pct(committed, 99)
            run.results["skew_recorded_at_p99_ms"] = pct(sorted(outcome.skews_ms), 99)
        out(f"round_clock skew{label} events={count} fired={len(outcome.skews_ms)} {dist('', committed)}"
            f" over_{TARGET_SKEW_P99_MS:.0f}ms={sum(s > TARGET_SKEW_P99_MS for s in committed)}"
            f" {dist('recorded_at_', outcome.skews_ms)}"
            f" {dist('delivered_', delivered)} messages={len(arrivals.seen)}"
            f" {dist('rooms_lag_', outcome.rooms_lag_ms)} last_over_ms={late_ms:.0f} worker_cpu_seconds={fmt(cpu_s, 2)}"
            f" rounds={'/'.join(f'{k}:{v}' for k, v in sorted(outcome.rounds.items()))}"
            f" finished={outcome.finished} roomless_dates={outcome.roomless_dates}"
            f" missing_messages={len(missing)} unexpected_messages={len(unexpected)}"
            f" duplicate_messages={arrivals.duplicates} correct={str(correct).lower()}")
        log(f"skew{label} messages by command: {dict(sorted(arrivals.commands.items()))}")
        for kind in ("ConfirmationOpened", "GroupsFormed", "RulesAnnounced", "Started", "RoundEnded",
                     "RoundStarted", "Finished"):
            log(f"skew{label} committed {kind}: n={len(outcome.by_action[kind])} {dist('', outcome.by_action[kind])}")
        if not correct:
            run.fail(variant)
            for problem in outcome.problems[:10]:
                log(f"skew{label}: {problem}")
            if left:
                log(f"skew{label}: deadlines left: {dict(left)}")
            if outcome.roomless_dates:
                log(f"skew{label}: {outcome.roomless_dates} dates in {len(outcome.roomless_events)} events had no room"
                    f" (e.g. events {outcome.roomless_events[:5]}): a round started before its rooms were made")
            if missing or unexpected:
                log(f"skew{label}: missing {Counter(m.split(':')[3] for m in missing)},"
                    f" unexpected {Counter(m.split(':')[3] for m in unexpected)}")
        finished = True
    finally:
        stop_profiler(profiler)
        if worker is not None:
            if worker.stop() not in (0, None) or not finished:
                log(f"{worker.name} output ends:\n{worker.output_tail()}")
            worker.discard_log(run.args.keep_service_log)
        await asyncio.to_thread(bot.close)  # its queue is exclusive: gone with its connection
        await asyncio.to_thread(watch.close)
        await asyncio.to_thread(probe.close)
        await asyncio.to_thread(app.close)
        await asyncio.to_thread(run.drop, dbname)
