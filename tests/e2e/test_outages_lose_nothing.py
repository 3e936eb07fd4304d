"""Outages, through a TCP proxy between `datemaker serve` and the server that
the test cuts and restores: RabbitMQ away for 10 s, PostgreSQL gone in the
middle of a stream of commands and in the middle of a round. The service
comes back by itself within seconds of the server's return, loses nothing,
does nothing twice, and the event finishes, no later than the outage made it."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest

from ..support import service_process
from ..support.bot_harness import WAIT, Reply, TestBot
from ..support.platform_users import add_users
from ..support.tcp_proxy import CuttableProxy
from ..support.http_probe import get
from .test_a_real_event_survives_kill_9 import TIMINGS, check_the_outcome, lateness, scenario

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

BROKER_AWAY = 10.0  # seconds
DATABASE_AWAY = 5.0  # about what a PostgreSQL restart takes
BACK_WITHIN = 10.0  # seconds after the server's return


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(what: str, condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        await asyncio.sleep(0.1)


def serve(settings, metrics_port: int, log_path, **env: str) -> subprocess.Popen:
    return service_process.serve(settings, stderr=log_path.open("wb"), DATEMAKER_METRICS_HOST="127.0.0.1",
                                 DATEMAKER_METRICS_PORT=str(metrics_port), **env)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


async def register(bot: TestBot, wire_id: int, users) -> None:
    """As the platform's bot does: no AMQP message_id, the key is the message."""
    for uid in users:
        await bot.send("register_event", user_id=uid, chat_id=uid, message_id=900 + uid, event_id=wire_id)


async def replies(bot: TestBot, n: int, seconds: float = WAIT) -> list[Reply]:
    got: list[Reply] = []
    deadline = time.monotonic() + seconds
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(got)} of {n} replies within {seconds:.0f} s"
        try:
            got.append(await asyncio.wait_for(bot.replies.get(), left))
        except TimeoutError:
            pass
    return got


async def the_rest(bot: TestBot) -> list[Reply]:
    """Every reply still on its way: a marker sent to the bot's queue after
    the service stopped arrives after all of them (a queue keeps order)."""
    channel = await bot.connection.channel()
    exchange = await channel.get_exchange(bot.settings.rabbitmq_exchange)
    await exchange.publish(aio_pika.Message(b'"end"', headers={"user_id": "0"}), routing_key=bot.settings.bot_routing_key)
    got = []
    while (reply := await bot.reply()).body != "end":
        got.append(reply)
    await channel.close()
    return got


def answered_once_each(got: list[Reply], users) -> None:
    by_user = defaultdict(list)
    for reply in got:
        by_user[int(reply.headers["user_id"])].append(reply.body)
    assert sorted(by_user) == sorted(users)
    wrong = {uid: bodies for uid, bodies in by_user.items() if bodies != [{"user_registered": True}]}
    assert wrong == {}


def registered_once_each(app, wire_id: int, users) -> None:
    registered = [e.user_id for e in app.history(wire_id) if type(e).__name__ == "Registered"]
    assert sorted(registered) == sorted(users)


def test_rabbitmq_away_for_ten_seconds_every_command_is_answered_once_and_done_once(env, tmp_path):
    settings, app, _ = env
    before, during, after = range(1, 7), range(7, 14), range(14, 21)
    wire_id = app.schedule_event(start=datetime.now(UTC) + timedelta(days=3), timezone="UTC")
    proxy = CuttableProxy(settings.rabbitmq_port)
    port = free_port()
    process = serve(settings, port, tmp_path / "serve.log", RABBITMQ_PORT=str(proxy.port))

    def handled() -> float:
        text = get(port, "/metrics")[1]
        line = 'datemaker_messages_processed_total{command="register_event",outcome="ok"} '
        return next((float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line)), 0.0)

    async def main() -> None:
        bot = TestBot(settings)  # the bot reaches RabbitMQ all along; the service does not
        await bot.start()
        try:
            await until("ready", lambda: get(port, "/readyz")[0] == 200)
            await register(bot, wire_id, before)
            got = await replies(bot, len(before))
            await until("acknowledged", lambda: handled() == len(before))
            proxy.cut()
            away = time.monotonic()
            await until("503", lambda: (r := get(port, "/readyz"))[0] == 503 and "RabbitMQ unreachable" in r[1])
            assert get(port, "/healthz")[0] == 200 and process.poll() is None
            await register(bot, wire_id, during)
            await asyncio.sleep(max(0.0, away + BROKER_AWAY - time.monotonic()))  # the outage itself
            assert bot.replies.empty()
            proxy.restore()
            back = time.monotonic()
            got += await replies(bot, len(during), BACK_WITHIN)  # reconnected by itself, within 10 s
            reconnected = time.monotonic() - back
            await register(bot, wire_id, after)
            got += await replies(bot, len(after))
            await until("ready again", lambda: get(port, "/readyz")[0] == 200)
            await asyncio.to_thread(stop, process)
            got += await the_rest(bot)
            answered_once_each(got, [*before, *during, *after])
            assert reconnected < BACK_WITHIN
        finally:
            await bot.close()

    try:
        asyncio.run(main())
        assert process.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
        registered_once_each(app, wire_id, [*before, *during, *after])
    finally:
        stop(process)
        proxy.close()


@pytest.mark.parametrize("away", [DATABASE_AWAY, 30.0], ids=["a-restart", "half-a-minute"])
def test_postgresql_cut_while_commands_stream_in_every_one_is_answered_and_done_once(env, tmp_path, away):
    settings, app, _ = env
    users = range(1, 401)
    add_users(settings, {uid: "MF"[uid % 2] for uid in range(21, 401)})
    wire_id = app.schedule_event(start=datetime.now(UTC) + timedelta(days=3), timezone="UTC")
    proxy = CuttableProxy(settings.postgres_port)
    port = free_port()
    process = serve(settings, port, tmp_path / "serve.log", POSTGRES_PORT=str(proxy.port))

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            await until("ready", lambda: get(port, "/readyz")[0] == 200)

            async def stream() -> None:  # about 200 a second, so batches are under way when it is cut
                for start in range(0, len(users), 20):
                    await register(bot, wire_id, users[start:start + 20])
                    await asyncio.sleep(0.1)

            sending = asyncio.create_task(stream())
            got = await replies(bot, 100)
            proxy.cut()
            cut = time.monotonic()
            await until("503", lambda: (r := get(port, "/readyz"))[0] == 503 and "event store unreachable" in r[1])
            await sending
            await asyncio.sleep(max(0.0, cut + away - time.monotonic()))
            assert process.poll() is None
            proxy.restore()
            back = time.monotonic()
            got += await replies(bot, 1, BACK_WITHIN)
            first_after = time.monotonic() - back
            got += await replies(bot, len(users) - len(got))
            await until("ready again", lambda: get(port, "/readyz")[0] == 200, BACK_WITHIN)
            await asyncio.to_thread(stop, process)
            got += await the_rest(bot)
            answered_once_each(got, users)
            assert await bot.dead_letters() == []
            assert first_after < BACK_WITHIN
        finally:
            await bot.close()

    try:
        asyncio.run(main())
        assert process.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
        registered_once_each(app, wire_id, users)
        assert app.get_event(wire_id).registered_user_ids == sorted(users)
    finally:
        stop(process)
        proxy.close()


def test_postgresql_cut_mid_round_the_event_finishes_no_later_than_the_outage_made_it(env, tmp_path):
    settings, app, _ = env
    proxy = CuttableProxy(settings.postgres_port)
    # Round 1 runs from 1 s to 5 s after the start; the database goes at 2 s,
    # for as long as a restart takes, with round 1's end and round 2's start due meanwhile.
    timings = replace(TIMINGS, round_length=4, rating_deadline=6)
    cut_at = 2.0
    try:
        wire_id, bot, _ = scenario(settings, app, timings=timings, lead=12.0, log=tmp_path / "serve.log",
                                   POSTGRES_PORT=str(proxy.port),
                                   also_at=[(cut_at, proxy.cut), (cut_at + DATABASE_AWAY, proxy.restore)])
    finally:
        proxy.close()
    check_the_outcome(app, wire_id, bot)
    late = lateness(app, wire_id)
    assert late["RoundEnded 1"] > 1.0, late  # the outage did hold it up
    assert max(late.values()) <= DATABASE_AWAY, late
