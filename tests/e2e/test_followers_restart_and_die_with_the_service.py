"""`datemaker serve` runs the outbox relay and the analytics follower in
processes of their own: one that dies is started again and carries on from
its stored position; all of them die with the service, even on kill -9."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest

from datemaker.domain.profile import Profile

from ..support import service_process
from ..support.bot_harness import Reply, TestBot, run

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


class Bot(TestBot):
    """Keeps what datemaker itself sends (bodies may be a bare command name)."""

    async def _on_reply(self, message) -> None:
        await self.replies.put(Reply(message.body.decode(), {}, message.message_id))


def children(pid: int) -> dict[int, int]:
    """Live child processes of `pid`: child pid -> its nice value."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the name: state, ppid, ... nice is the 19th field of the whole line
        if int(fields[1]) == pid and fields[0] != "Z" and b"resource_tracker" not in _cmdline(entry):
            found[int(entry)] = int(fields[16])  # (multiprocessing's resource tracker is no follower)
    return found


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def wait_for(predicate, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_follower_that_dies_is_started_again_and_all_die_with_the_service(env):
    settings, app, clock = env
    service = service_process.serve(settings)
    try:
        # analytics yields the CPU to the clock and the outbox
        first = wait_for(lambda: (found := children(service.pid)) and sorted(found.values()) == [0, 10] and found)
        outbox = next(pid for pid, nice in first.items() if nice == 0)
        os.kill(outbox, signal.SIGKILL)
        again = wait_for(lambda: (found := children(service.pid)) and len(found) == 2 and outbox not in found and found)
        assert len(again) == 2

        async def confirmation_asked() -> list[str]:
            bot = Bot(settings)
            await bot.start()
            try:
                clock.now = clock.now.replace(microsecond=0)
                wire_id = app.schedule_event(start=clock.now + timedelta(days=3), timezone="Europe/Moscow")
                app.register(wire_id, 1, Profile(sex="M"))
                app.open_confirmation(wire_id)  # the restarted relay tells the bot
                reply = await bot.reply()
                return [reply.message_id or ""]
            finally:
                await bot.close(keep_topology=True)

        results: list[list[str]] = []

        async def collect() -> None:
            results.append(await confirmation_asked())

        run(collect)
        assert results[0][0].endswith(":confirm_registration:1")

        service.send_signal(signal.SIGKILL)
        service.wait(10)
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and children_alive(pid) for pid in again))
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            service.wait(10)


def children_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
