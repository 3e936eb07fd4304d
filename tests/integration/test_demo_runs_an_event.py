"""`datemaker demo` runs a whole event on embedded SQLite, in-process and in
real time (well under a minute), and says how to look at it afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datemaker.cli.main import main
from datemaker.demo.run import DEMO_TIMINGS, LEAD_SECONDS


@pytest.mark.slow
def test_the_demo_runs_a_whole_event_to_finished_and_says_how_to_look_at_it(sqlite_settings, monkeypatch, capsys):
    monkeypatch.setenv("DATEMAKER_STORE", "sqlite")
    monkeypatch.setenv("DATEMAKER_SQLITE_PATH", sqlite_settings.sqlite_path)
    assert (main(["demo", "--people", "8", "--seed", "3"]) or 0) == 0
    out = capsys.readouterr().out.splitlines()
    progress = [line.split("] ", 1)[1] for line in out if line.startswith("[")]
    assert progress[0] == "event 1 scheduled"
    order = ["confirmation open", "groups fixed", "rules sent", "round 1:", "round 1 ended", "finished"]
    positions = [next(i for i, line in enumerate(progress) if line.startswith(step)) for step in order]
    assert positions == sorted(positions)
    assert "event 1: FINISHED" in out
    assert out[-1] == "look at it: datemaker history 1"
    assert any(line.startswith("  matches: ") for line in out)
    assert (main(["events", "list", "--all"]) or 0) == 0
    assert "FINISHED" in capsys.readouterr().out


def test_the_demos_timeline_fits_in_under_a_minute():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    rounds = 10  # the most a demo group of up to ten people can need
    over = DEMO_TIMINGS.ratings_lock_at(start, rounds)
    assert LEAD_SECONDS + (over - start).total_seconds() < 60


def test_the_demo_refuses_a_crowd_too_small_for_a_date(capsys):
    assert main(["demo", "--people", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--people" in err and "Traceback" not in err
