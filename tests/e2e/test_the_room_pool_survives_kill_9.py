"""`datemaker serve` filling the pool of Meet rooms from the local fake Meet
server, killed (-9) halfway: the rooms recorded stay, the next process
fills on to the target and not past it, nothing is recorded twice, and the
pace (kept in PostgreSQL) holds across the restart."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest

from datemaker.adapters.postgres.room_pool import PostgresRoomPool
from datemaker.domain.profile import Profile

from ..support.bot_harness import run
from ..support.fake_meet_server import FakeMeetServer
from ..support.service_process import serve
from ..support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

PER_MINUTE = 300  # five rooms a second, for a short test: the pace and the fake's quota alike
WAIT = 30


def test_the_room_pool_survives_kill_9(env, tmp_path):
    settings, app, _ = env
    start = datetime.now(UTC) + timedelta(hours=3)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=20, ready_check=False)
    for uid in range(1, 21):  # ten rounds of ten dates: the pool's target is 100 rooms
        app.register(wire_id, uid, Profile(sex="MF"[uid % 2], birthday=date(1995, 1, 1), city="Kazan"))
    pool = PostgresRoomPool(app.recorder.datastore)

    def rows() -> list[str]:
        with app.recorder.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT space FROM datemaker.meet_rooms")
            return [r["space"] for r in curs.fetchall()]

    with FakeMeetServer(quotas=True, create_per_minute_per_account=PER_MINUTE,
                        create_per_minute_per_project=PER_MINUTE) as server:
        token = tmp_path / "host1.json"
        token.write_text(__import__("json").dumps(server.add_account("host1")))
        extra = {
            "DATEMAKER_MEET_BACKEND": "google", "MEET_API_ENDPOINT": server.endpoint, "MEET_TOKEN_FILE": str(token),
            "DATEMAKER_MEET_CREATE_PER_MINUTE": str(PER_MINUTE), "DATEMAKER_MEET_PROJECT_CREATE_PER_MINUTE": str(PER_MINUTE),
            "DATEMAKER_MEET_POOL_MARGIN": "0",
        }

        async def main() -> None:
            first = serve(settings, stderr=subprocess.DEVNULL, **extra)
            try:
                await until(lambda: pool.free() >= 40, "40 rooms in the pool", WAIT)
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(WAIT)
            kept = pool.free()
            assert 40 <= kept < 100
            second = serve(settings, stderr=subprocess.DEVNULL, **extra)
            try:
                await until(lambda: pool.free() >= 100, "the pool's target after the restart", WAIT)
                made = len(server.created)
                await until(lambda: pool.accounts().get("host1", (False,))[0], "the account recorded usable", WAIT)
                # A minute of the filler's counting has not passed: nothing more is made.
                assert len(server.created) == made
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(WAIT) == 0

        run(main)
        spaces = rows()
        assert len(spaces) == len(set(spaces)) == pool.free() == 100  # the target, none twice
        assert set(spaces) <= set(server.created)
        assert len(server.created) <= 101  # at most the one made as the process died, never recorded
        assert {server.creator[s] for s in spaces} == {"host1"}
        assert server.rejected_by_quota["create"] == 0
        times = sorted(at for _, at in server.quotas.accepted_creates)
        in_any_second = max(sum(1 for t in times if a <= t < a + timedelta(seconds=1)) for a in times)
        assert in_any_second <= PER_MINUTE / 60 + 1  # paced throughout, the restart included (one for jitter)
