"""schema.sql through `datemaker db init`: idempotent, append-only history,
a least-privilege role that is enough to run the service, checked at start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from datemaker.runtime.bootstrap import open_dating_events
from datemaker.adapters.postgres.schema import SchemaMissing, connect, missing_tables
from datemaker.cli.main import main
from datemaker.domain.profile import Profile

from ..support.postgres import PG_ADMIN_USER, PG_HOST, PG_PORT, admin_connection, pg_settings

pytestmark = pytest.mark.postgres


def test_db_init_on_an_empty_database_succeeds_twice(databases, monkeypatch, capsys):
    dbname = databases.empty()
    monkeypatch.setenv("POSTGRES_HOST", PG_HOST)
    monkeypatch.setenv("POSTGRES_PORT", str(PG_PORT))
    monkeypatch.setenv("POSTGRES_DB", dbname)
    monkeypatch.setenv("DATEMAKER_POSTGRES_USER", PG_ADMIN_USER)
    assert missing_tables(pg_settings(dbname)) != []
    assert (main(["db", "init"]) or 0) == 0
    assert (main(["db", "init"]) or 0) == 0
    assert missing_tables(pg_settings(dbname)) == []
    assert capsys.readouterr().out.count("schema ready") == 2


def test_the_service_refuses_to_start_on_a_database_without_the_schema(databases):
    with pytest.raises(SchemaMissing, match="datemaker db init"):
        open_dating_events(pg_settings(databases.empty()))


def test_history_rows_can_be_neither_changed_nor_removed(postgres_settings):
    app = open_dating_events(postgres_settings)
    app.schedule_event(start=datetime(2026, 12, 5, 16, tzinfo=UTC), timezone="UTC")
    app.close()
    with connect(postgres_settings) as conn:
        for statement in (
            "UPDATE datemaker.datingevents_events SET topic = 'x'",
            "DELETE FROM datemaker.datingevents_events",
            "TRUNCATE datemaker.datingevents_events",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
            conn.rollback()


def test_the_service_role_is_enough_to_run_and_reads_users_only(postgres_settings):
    login = f"datemaker_test_{uuid.uuid4().hex[:8]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE datemaker_service')
    try:
        settings = pg_settings(postgres_settings.postgres_db, DATEMAKER_POSTGRES_USER=login)
        app = open_dating_events(settings)
        wire_id = app.schedule_event(start=datetime(2026, 12, 5, 16, tzinfo=UTC), timezone="UTC")
        app.register(wire_id, 1, Profile(sex="F"))
        assert app.get_event(wire_id).registered_user_ids == [1]
        app.close()
        with connect(settings) as conn:
            conn.execute("SELECT count(*) FROM public.users").fetchone()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO public.users (id, username) VALUES (1, 'x')")
    finally:
        with admin_connection() as admin:
            admin.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{login}'"
            )
            admin.execute(f'DROP ROLE "{login}"')
