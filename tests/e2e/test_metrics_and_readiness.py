"""Metrics move as commands arrive and rounds happen; /readyz follows the
broker; the dashboard and the compose file only name what exists."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support import service_process
from ..support.bot_harness import TestBot, run
from ..support.fake_meet_server import FakeMeetServer
from ..support.http_probe import get

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(settings, metrics_port: int, rabbitmq_port: int | None = None, log=subprocess.DEVNULL,
          **extra: str) -> subprocess.Popen:
    return service_process.serve(
        settings, stderr=log, RABBITMQ_PORT=str(rabbitmq_port or settings.rabbitmq_port),
        DATEMAKER_METRICS_HOST="127.0.0.1", DATEMAKER_METRICS_PORT=str(metrics_port), **extra,
    )


def wait_for(predicate, seconds: float = 30.0, every: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_move_as_commands_arrive_and_rounds_happen(env):
    settings, app, _ = env
    port = free_port()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=16)
    timings = Timings(confirm_before=10, confirm_deadline=4, rules_before=2, round_length=2,
                      break_length=1, ready_grace=1, rating_deadline=1)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", timings=timings, ready_check=False)
    process = serve(settings, port)
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200)
        _, before = get(port, "/metrics")
        assert sample(before, "datemaker_events", state="NOT_STARTED") == 1
        for state in EventState:
            assert f'datemaker_events{{state="{state.name}"}}' in before

        async def bot_side() -> None:
            bot = TestBot(settings)
            await bot.start()
            try:
                for uid in (1, 2):
                    assert (await bot.command("register_event", uid, event_id=wire_id)) == {"user_registered": True}
                assert "error" in (await bot.command("launch", 3))
            finally:
                await bot.close(keep_topology=True)  # the service still publishes there

        run(bot_side)
        # Counted once the batch is acked, just after the replies went out.
        text = wait_for(lambda: (t := get(port, "/metrics")[1]) and
                        sample(t, "datemaker_messages_processed_total", command="invalid", outcome="bad_input") and t)
        assert sample(text, "datemaker_messages_processed_total", command="register_event", outcome="ok") == 2
        assert sample(text, "datemaker_messages_processed_total", command="invalid", outcome="bad_input") == 1
        assert sample(text, "datemaker_dead_lettered_messages_total", outcome="bad_input") == 1
        assert sample(text, "datemaker_command_duration_seconds_count", command="register_event") == 2
        assert sample(text, "process_resident_memory_bytes") > 0

        wait_for(lambda: app.get_event(wire_id).state is EventState.REG_CONFIRM, 30, 0.05)
        for uid in (1, 2):
            app.confirm_registration(wire_id, uid)
        assert wait_for(lambda: app.get_event(wire_id).state in (EventState.READY, EventState.SKIPPED), 30, 0.05)
        assert app.get_event(wire_id).state is EventState.READY
        wait_for(lambda: app.get_event(wire_id).state is EventState.RUNNING, 30, 0.05)
        _, during = get(port, "/metrics")
        assert sample(during, "datemaker_events", state="RUNNING") == 1
        wait_for(lambda: app.get_event(wire_id).state is EventState.FINISHED, 30)
        wait_for(lambda: sample(get(port, "/metrics")[1], "datemaker_events_ended_total", outcome="finished") == 1)
        _, after = get(port, "/metrics")
        assert sample(after, "datemaker_events", state="FINISHED") == 1
        assert sample(after, "datemaker_active_conferences") == 0
        assert sample(after, "datemaker_deadline_skew_seconds_count", action="begin") == 1
        assert sample(after, "datemaker_bot_messages_published_total", command="invite_to_meeting") == 2
        assert sample(after, "datemaker_outbox_unpublished") == 0
        assert get(port, "/healthz") == (200, "ok\n")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
        run(drop_topology(settings))


async def drop_topology_async(settings) -> None:
    bot = TestBot(settings)
    await bot.start()
    await bot.close()


def drop_topology(settings):
    return lambda: drop_topology_async(settings)


def test_the_dashboard_queries_only_metrics_that_exist(env):
    settings, _, _ = env
    dashboard = json.loads((ROOT / "deploy/grafana/datemaker.json").read_text())
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    assert {"postgres", "rabbitmq", "datemaker", "prometheus", "grafana"} <= set(compose["services"])
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["datemaker:9464"]
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(exprs) >= 10
    queried = {name for expr in exprs for name in re.findall(r"\b((?:datemaker|process)_[a-z_]+)", expr)}
    port = free_port()
    with FakeMeetServer() as meet:  # the Meet pool's gauges exist with Google Meet rooms
        process = serve(settings, port, DATEMAKER_MEET_BACKEND="google", MEET_API_ENDPOINT=meet.endpoint)
        try:
            wait_for(lambda: get(port, "/readyz")[0] == 200)
            _, text = get(port, "/metrics")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(15)
    exposed = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.MULTILINE))
    names = set()
    for name, kind in exposed:
        names.add(name)
        if kind == "counter":
            names.add(name + "_total")
        if kind == "histogram":
            names |= {name + "_bucket", name + "_count", name + "_sum"}
    assert queried - names == set()
