from __future__ import annotations

from datemaker.cli import main


def test_the_demo_takes_an_event_to_fixed_groups_and_prints_its_history(sqlite_settings, monkeypatch, capsys):
    monkeypatch.setenv("DATEMAKER_STORE", "sqlite")
    monkeypatch.setenv("DATEMAKER_SQLITE_PATH", sqlite_settings.sqlite_path)
    assert (main(["demo", "--people", "12", "--seed", "3"]) or 0) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("event 1: READY")
    assert sum("Registered user" in line for line in out) == 12
    assert any(line.startswith("plan: ") for line in out)
    assert (main(["events", "list"]) or 0) == 0
    assert "READY" in capsys.readouterr().out
