"""Prometheus metrics. Per-process numbers (what this instance handled) are
counters and histograms here; numbers about all events come from PostgreSQL
at scrape time, so they are right whichever instance is scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from datemaker.domain.lifecycle import EventState
from datemaker.logs import get_logger

log = get_logger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SKEW_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 30.0, 300.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.messages_processed = Counter(
            "datemaker_messages_processed", "Bot commands handled, by command and outcome (ok, refused, bad_input, error).",
            ["command", "outcome"], registry=r,
        )
        self.command_seconds = Histogram(
            "datemaker_command_duration_seconds", "From a bot command's arrival to its acknowledged reply.",
            ["command"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.dead_lettered = Counter(
            "datemaker_dead_lettered_messages", "Messages moved to the dead-letter queue, by outcome.", ["outcome"], registry=r
        )
        self.input_queue = Gauge("datemaker_input_queue_messages", "Messages waiting in datemaker's input queue.", registry=r)
        self.deadline_skew = Histogram(
            "datemaker_deadline_skew_seconds", "How late a deadline's transition was recorded after the deadline.",
            ["action"], buckets=SKEW_BUCKETS, registry=r,
        )
        self.published = Counter(
            "datemaker_bot_messages_published", "Messages published to the bot, by command.", ["command"], registry=r
        )
        self.events_ended = Counter(
            "datemaker_events_ended", "Events that ended, by outcome (finished, skipped, cancelled).", ["outcome"], registry=r
        )
        self.meet_calls = Counter(
            "datemaker_meet_calls", "Google Meet API calls, by method and outcome.", ["method", "outcome"], registry=r
        )
        self.meet_quota_wait = Histogram(
            "datemaker_meet_quota_wait_seconds", "Time spent waiting for Meet quota before a call.",
            buckets=SKEW_BUCKETS, registry=r,
        )
        self.step_failures = Counter(
            "datemaker_deadline_step_failures", "Deadline steps that raised (the event is quarantined), by error class.",
            ["error"], registry=r,
        )
        self.failing_events = Gauge("datemaker_failing_events", "Events whose last step failed, waiting for a retry.",
                                    registry=r)
        self.rooms_reserved = Counter("datemaker_meet_rooms_reserved", "Meet rooms made ahead.", registry=r)
        self.background_failures = Counter(
            "datemaker_background_task_failures", "Failed passes of a background task (tried again), by task.",
            ["task"], registry=r,
        )
        for outcome in ("finished", "skipped", "cancelled"):
            self.events_ended.labels(outcome)  # present from the start, at 0

    # Callbacks handed to the parts that do the work.
    def command_answered(self, command: str, outcome: str, seconds: float) -> None:
        self.messages_processed.labels(command, outcome).inc()
        self.command_seconds.labels(command).observe(seconds)
        if outcome in ("bad_input", "error"):
            self.dead_lettered.labels(outcome).inc()

    def deadline_fired(self, action: str, skew_seconds: float) -> None:
        self.deadline_skew.labels(action).observe(max(skew_seconds, 0.0))

    def step_failed(self, error: str) -> None:
        self.step_failures.labels(error).inc()

    def message_published(self, command: str) -> None:
        self.published.labels(command).inc()

    def event_ended(self, outcome: str) -> None:
        self.events_ended.labels(outcome).inc()

    def follower_counted(self, name: str, label: str, n: int = 1) -> None:
        """A follower's counter ("published" per command, "ended" per outcome),
        counted in this process or reported by a follower process."""
        counter = self.published if name == "published" else self.events_ended
        counter.labels(label).inc(n)

    def meet_call(self, method: str, outcome: str) -> None:
        self.meet_calls.labels(method, outcome).inc()

    def watch_meet_pool(self, figures: Callable[[], Any], accounts_usable: Callable[[], int]) -> None:
        """The pool of Meet rooms made ahead, as the pool's last count of the
        dates ahead saw it (about once a minute)."""
        r = self.registry
        Gauge("datemaker_meet_pool_rooms", "Meet rooms made ahead and not handed out yet.",
              registry=r).set_function(lambda: figures().rooms)
        Gauge("datemaker_meet_pool_target_rooms", "Rooms the pool fills itself to: the dates of its horizon plus a margin.",
              registry=r).set_function(lambda: figures().target)
        Gauge("datemaker_meet_planned_dates_shortfall",
              "Dates in the next 24 h that the pool and the rate rooms are made at cannot serve.",
              registry=r).set_function(lambda: figures().shortfall)
        Gauge("datemaker_meet_accounts_usable", "Google host accounts whose token works.",
              registry=r).set_function(accounts_usable)

    def watch_store(self, overview: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(StoreGauges(overview))


class StoreGauges(Collector):
    """Gauges read from PostgreSQL at scrape time."""

    def __init__(self, overview: Callable[[], dict[str, Any]]) -> None:
        self._overview = overview

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("datemaker_store_up", "1 when the event store answered this scrape.")
        try:
            found = self._overview()
        except Exception as exc:
            log.warning("store unavailable for metrics", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        events = GaugeMetricFamily("datemaker_events", "Dating events by lifecycle state.", labels=["state"])
        for state in EventState:
            events.add_metric([state.name], found["by_state"].get(int(state), 0))
        yield events
        yield GaugeMetricFamily(
            "datemaker_active_conferences", "Dates whose call is running now.", value=found["active_dates"]
        )
        yield GaugeMetricFamily(
            "datemaker_outbox_unpublished", "Event-log entries not yet relayed to the bot.",
            value=max(found["head"] - found["position"], 0),
        )
        if "projected" in found:  # analytics tables follow PostgreSQL only
            yield GaugeMetricFamily(
                "datemaker_projection_lag", "Event-log entries the analytics tables have not taken in yet.",
                value=max(found["head"] - found["projected"], 0),
            )
        yield GaugeMetricFamily(
            "datemaker_outbox_oldest_unpublished_age_seconds", "Age of the oldest event-log entry not yet relayed.",
            value=found.get("oldest_unpublished_age", 0.0),
        )
