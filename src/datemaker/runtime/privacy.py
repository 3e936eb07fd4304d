"""Wires erasing and retention (app/erasure.py, app/retention.py) to the
store the application runs on: its erase requests and person keys, and the
keyring that must forget a destroyed key at once."""

from __future__ import annotations

from datemaker.adapters.postgres.erasures import PostgresErasures
from datemaker.adapters.postgres.recorder import PostgresRecorder
from datemaker.adapters.sqlite.erasures import SqliteErasures
from datemaker.app.dating_events import DatingEvents
from datemaker.app.erasure import Erasure
from datemaker.app.privacy_ports import ErasureStore
from datemaker.app.retention import PrivacyJob

PRIVACY_EVERY_SECONDS = 300.0  # waiting erase requests and retention: every five minutes


def erasure_store(app: DatingEvents) -> ErasureStore:
    recorder = app.recorder
    if isinstance(recorder, PostgresRecorder):
        return PostgresErasures(recorder.datastore)
    return SqliteErasures(recorder.datastore)  # type: ignore[attr-defined]


def erasure(app: DatingEvents) -> Erasure:
    return Erasure(app, erasure_store(app), app.recorder.keyring.forget)  # type: ignore[attr-defined]


def privacy_job(app: DatingEvents, personal_data_days: int) -> PrivacyJob:
    return PrivacyJob(erasure(app), personal_data_days)
