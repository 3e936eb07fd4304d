"""Rotating the master key: keys made under key A still open once B is the
current key and A the previous one; `privacy rewrap` wraps them all by B;
then B alone reads everything, and A alone is the one clear error at start.
`privacy new-master-key` writes a key file only its owner can read, never
over another."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime

import pytest
from pydantic import SecretStr

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.privacy.master_key import MasterKeyError, write_key_file
from datemaker.adapters.privacy.rewrapping import Rewrapped, rewrap
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.profile import Profile

START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path):
    return write_key_file(tmp_path / "a.key"), write_key_file(tmp_path / "b.key"), tmp_path


def with_keys(settings, current, previous=None):
    return settings.model_copy(update={"master_key": SecretStr(""), "master_key_file": current,
                                       "previous_master_key_file": previous})


def opened(settings) -> DatingEvents:
    return DatingEvents(env=persistence_env(settings))


def profiles(app: DatingEvents, wire_id: int) -> dict[str, dict]:
    return {uid: entry["profile"] for uid, entry in app.get_event(wire_id).registrations.items()}


def test_keys_made_under_a_read_under_b_after_rewrap_and_a_alone_is_refused(store_settings, keys):
    a, b, folder = keys
    under_a = with_keys(store_settings, folder / "a.key")
    app = opened(under_a)
    wire_id = app.schedule_event(start=START, timezone="UTC")
    for uid in (1, 2, 3):
        app.register(wire_id, uid, Profile(sex="MF"[uid % 2], birthday=date(1990, 7, uid), city="Tver"))
    seen = profiles(app, wire_id)
    app.close()

    rotating = with_keys(store_settings, folder / "b.key", folder / "a.key")
    app = opened(rotating)
    assert profiles(app, wire_id) == seen  # A's keys open meanwhile
    app.register(wire_id, 4, Profile(sex="F", birthday=date(1991, 1, 1), city="Tver"))  # a new key: wrapped by B
    seen = profiles(app, wire_id)
    keyring = app.recorder.keyring
    assert rewrap(keyring, keyring.store, batch=2) == Rewrapped(3, 0)
    assert rewrap(keyring, keyring.store, batch=2) == Rewrapped(0, 0)  # idempotent
    app.close()

    app = opened(with_keys(store_settings, folder / "b.key"))
    assert profiles(app, wire_id) == seen
    app.close()

    with pytest.raises(MasterKeyError, match=f"not the one this store's personal data was sealed with.*{b.name}"):
        opened(with_keys(store_settings, folder / "a.key"))


def test_the_rewrap_command_reports_what_is_left(store_settings, keys, env_for, monkeypatch, capsys):
    a, b, folder = keys
    app = opened(with_keys(store_settings, folder / "a.key"))
    wire_id = app.schedule_event(start=START, timezone="UTC")
    app.register(wire_id, 1, Profile(sex="M", birthday=date(1990, 7, 1), city="Tver"))
    app.close()
    capsys.readouterr()
    env_for(store_settings)
    monkeypatch.setenv("DATEMAKER_MASTER_KEY", "")
    monkeypatch.setenv("DATEMAKER_MASTER_KEY_FILE", str(folder / "b.key"))
    monkeypatch.setenv("DATEMAKER_PREVIOUS_MASTER_KEY_FILE", str(folder / "a.key"))
    assert main(["privacy", "rewrap"]) in (None, 0)
    assert capsys.readouterr().out == f"1 person keys wrapped anew by master key {b.name}; 0 still wrapped by another (done)\n"
    assert main(["privacy", "rewrap"]) in (None, 0)
    assert capsys.readouterr().out.startswith("0 person keys wrapped anew")


def test_a_new_master_key_file_is_its_owners_alone_and_never_overwritten(tmp_path, capsys):
    out = tmp_path / "next.key"
    assert main(["privacy", "new-master-key", "--out", str(out)]) in (None, 0)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = out.read_text()
    said = capsys.readouterr()
    assert written.strip() not in said.out + said.err  # the key itself is never printed
    assert main(["privacy", "new-master-key", "--out", str(out)]) == 1
    assert "exists already: not overwritten" in capsys.readouterr().err
    assert out.read_text() == written
