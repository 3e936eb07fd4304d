"""`datemaker db init` on an empty database and on the platform's: versioned
steps recorded as applied, idempotent, the platform's shape checked first and
kept, append-only history, a least-privilege role that is enough to run the
service, and the check at start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from datemaker.adapters.postgres.migrate import step_ids
from datemaker.adapters.postgres.schema import SchemaMissing, apply_schema, connect, missing_tables
from datemaker.app.ports import DatesHeld, ReactionGiven
from datemaker.cli.main import main
from datemaker.domain.profile import Profile
from datemaker.runtime.bootstrap import open_dating_events

from ..support.postgres import admin_connection, pg_settings

pytestmark = pytest.mark.postgres

STEPS = (
    "0001_platform_tables",
    "0002_datemaker_schema",
    "0003_platform_additions",
    "0004_widen_dating_event_groups_event_id",
    "0005_service_role_and_grants",
)


def query(dbname: str, sql: str, params: tuple = ()) -> list[tuple]:
    with connect(pg_settings(dbname)) as conn:
        return conn.execute(sql, params).fetchall()


def shape(dbname: str) -> dict[str, list[tuple]]:
    """The public tables' columns and the views' definitions."""
    return {
        "columns": query(dbname, """
            SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length,
                   column_default, is_nullable
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 3"""),
        "views": query(dbname, "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1"),
    }


def fingerprint(dbname: str) -> dict[str, list[tuple]]:
    """Everything a second db init must leave as it is."""
    return {
        **shape(dbname),
        "datemaker_columns": query(dbname, """
            SELECT table_name, column_name, data_type, column_default, is_nullable
            FROM information_schema.columns WHERE table_schema = 'datemaker' ORDER BY 1, 2"""),
        "indexes": query(dbname, """
            SELECT schemaname, indexname, indexdef FROM pg_indexes
            WHERE schemaname IN ('public', 'datemaker') ORDER BY 1, 2"""),
        "grants": query(dbname, """
            SELECT n.nspname, c.relname, c.relacl::text FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('public', 'datemaker') ORDER BY 1, 2"""),
        "schema_grants": query(dbname, "SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1"),
        "triggers": query(dbname, "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"),
        "event_states": query(dbname, "SELECT id, state_name FROM public.event_states ORDER BY id, state_name"),
        "steps": query(dbname, "SELECT migration_id FROM datemaker._yoyo_migration ORDER BY 1"),
    }


def init_twice(dbname, env_for, capsys) -> tuple[dict, dict]:
    env_for(pg_settings(dbname))
    assert (main(["db", "init"]) or 0) == 0
    first = fingerprint(dbname)
    assert (main(["db", "init"]) or 0) == 0
    out = capsys.readouterr().out
    assert out.count("schema ready") == 2
    assert f"applied {', '.join(STEPS)}" in out and "no step to apply" in out
    return first, fingerprint(dbname)


def test_the_steps_are_shipped_in_order():
    assert step_ids()[: len(STEPS)] == list(STEPS)


def test_db_init_on_the_platform_schema_twice_changes_nothing_the_second_time(databases, env_for, capsys):
    dbname = databases.with_platform()
    before = shape(dbname)
    first, second = init_twice(dbname, env_for, capsys)
    assert second == first
    assert missing_tables(pg_settings(dbname)) == []
    # the platform's views are kept as they were
    assert first["views"] == before["views"]


def test_db_init_on_an_empty_database_twice_gives_the_platform_shape(databases, env_for, capsys):
    dbname = databases.empty()
    assert missing_tables(pg_settings(dbname)) != []
    first, second = init_twice(dbname, env_for, capsys)
    assert second == first
    assert missing_tables(pg_settings(dbname)) == []
    assert shape(dbname) == shape(databases.with_schema())


def test_db_init_keeps_the_platform_columns_and_adds_three(databases):
    platform, migrated = databases.with_platform(), databases.with_schema()
    columns = {row[:2]: row for row in shape(platform)["columns"]}
    after = {row[:2]: row for row in shape(migrated)["columns"]}
    widened = ("dating_event_groups", "event_id")
    assert {k: v for k, v in after.items() if k in columns and k != widened} == {
        k: v for k, v in columns.items() if k != widened
    }
    added = sorted((k, after[k][3], after[k][6]) for k in after.keys() - columns.keys())
    assert added == [
        (("dating_events", "capacity"), "integer", "YES"),
        (("dating_events", "created_at"), "timestamp with time zone", "YES"),
        (("dating_events", "timezone"), "text", "YES"),
    ]


def test_an_unexpected_platform_column_type_stops_db_init_in_one_line(databases, env_for, capsys):
    dbname = databases.with_platform()
    with connect(pg_settings(dbname)) as conn:
        conn.execute("ALTER TABLE public.dating_events ALTER COLUMN start_dttm TYPE TEXT")
    before = shape(dbname)
    env_for(pg_settings(dbname))
    assert main(["db", "init"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "datemaker: error: public.dating_events.start_dttm is text; datemaker needs timestamp with time zone\n"
    )
    assert shape(dbname) == before
    assert query(dbname, "SELECT to_regnamespace('datemaker')") == [(None,)]


def test_a_missing_platform_column_is_named(databases, env_for, capsys):
    dbname = databases.with_platform()
    with connect(pg_settings(dbname)) as conn:
        conn.execute("ALTER TABLE public.likes DROP COLUMN action_time")
    env_for(pg_settings(dbname))
    assert main(["db", "init"]) == 1
    assert capsys.readouterr().err == "datemaker: error: public.likes.action_time is missing; datemaker needs timestamp\n"


def test_a_step_that_fails_is_one_line_and_the_steps_before_it_stay_applied(databases, env_for, capsys):
    dbname = databases.with_platform()
    with connect(pg_settings(dbname)) as conn:  # a view of the platform's pins the column's type
        conn.execute("CREATE VIEW public.group_events AS SELECT DISTINCT event_id FROM public.dating_event_groups")
    env_for(pg_settings(dbname))
    assert main(["db", "init"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("datemaker: error: step 0004_widen_dating_event_groups_event_id failed: ")
    assert err.count("\n") == 1
    assert [s for (s,) in query(dbname, "SELECT migration_id FROM datemaker._yoyo_migration ORDER BY 1")] == list(
        STEPS[:3]
    )


def test_db_check_lists_the_missing_steps_and_db_migrate_applies_them(databases, env_for, capsys):
    dbname = databases.with_platform()
    env_for(pg_settings(dbname))
    assert main(["db", "check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `datemaker db init`" in err
    assert all(step in err for step in STEPS)

    dbname = databases.with_schema()
    env_for(pg_settings(dbname))
    assert (main(["db", "check"]) or 0) == 0
    assert capsys.readouterr().out == "ok\n"
    with connect(pg_settings(dbname)) as conn:
        conn.execute("DELETE FROM datemaker._yoyo_migration WHERE migration_id = %s", (STEPS[3],))
    assert main(["db", "check"]) == 1
    assert capsys.readouterr().err == (
        f"datemaker: error: database {dbname!r} lacks steps {STEPS[3]}: run `datemaker db init`\n"
    )
    assert (main(["db", "migrate"]) or 0) == 0
    assert f"applied {STEPS[3]}" in capsys.readouterr().out
    assert (main(["db", "check"]) or 0) == 0


def test_the_service_refuses_to_start_on_a_database_without_the_steps(databases):
    for dbname in (databases.empty(), databases.with_platform()):
        with pytest.raises(SchemaMissing, match="run `datemaker db init`"):
            open_dating_events(pg_settings(dbname))


def test_cancelled_is_added_to_the_platform_states(postgres_settings):
    rows = query(postgres_settings.postgres_db, "SELECT id, state_name FROM public.event_states ORDER BY id")
    assert rows == [(0, "NOT_STARTED"), (1, "REG_CONFIRM"), (2, "READY"), (3, "RUNNING"), (4, "FINISHED"),
                    (5, "SKIPPED"), (6, "CANCELLED")]


def test_group_event_ids_are_widened_to_bigint(postgres_settings):
    dbname = postgres_settings.postgres_db
    assert query(dbname, """
        SELECT data_type FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'dating_event_groups' AND column_name = 'event_id'
    """) == [("bigint",)]
    with connect(postgres_settings) as conn:
        conn.execute("INSERT INTO public.dating_event_groups (event_id, group_no, pair_no, turn_no, user_1_id, user_2_id)"
                     " VALUES (40000, 0, 0, 0, 1, 2)")


GRANTED = [
    ("public.event_states", "SELECT"),
    ("public.dating_events", "SELECT"), ("public.dating_events", "INSERT"), ("public.dating_events", "UPDATE"),
    ("public.dating_registrations", "DELETE"), ("public.dating_registrations", "UPDATE"),
    ("public.dating_event_groups", "INSERT"), ("public.dating_event_groups", "DELETE"),
    ("public.likes", "INSERT"), ("public.likes", "DELETE"), ("public.reports", "SELECT"),
    ("public.matches", "SELECT"), ("public.mismatches", "SELECT"),
    ("datemaker.datingevents_events", "INSERT"), ("datemaker.handled_commands", "DELETE"),
    ("datemaker.event_stats", "UPDATE"), ("datemaker._yoyo_migration", "SELECT"),
    ("datemaker.pair_dates", "INSERT"), ("datemaker.pair_reactions", "UPDATE"),
]
REFUSED = [
    ("public.dating_events", "DELETE"), ("public.likes", "UPDATE"), ("public.dislikes", "UPDATE"),
    # the whole of users: only the columns datemaker reads (step 0007)
    ("public.users", "SELECT"), ("public.users", "INSERT"), ("public.event_states", "INSERT"),
    ("datemaker.datingevents_events", "DELETE"), ("datemaker.datingevents_snapshots", "UPDATE"),
    ("datemaker._yoyo_migration", "INSERT"), ("datemaker.pair_dates", "DELETE"),
]


@pytest.mark.parametrize("start", ["platform", "empty"])
def test_the_service_role_has_what_it_needs_and_no_more(databases, start):
    if start == "platform":
        dbname = databases.with_schema()
    else:
        dbname = databases.empty()
        apply_schema(pg_settings(dbname))
    assert query(dbname, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'service_datemaker'") == [(False,)]

    def allowed(table: str, privilege: str) -> bool:
        return query(dbname, "SELECT has_table_privilege('service_datemaker', %s, %s)", (table, privilege))[0][0]

    assert [(t, p) for t, p in GRANTED if not allowed(t, p)] == []
    assert [(t, p) for t, p in REFUSED if allowed(t, p)] == []
    assert query(dbname, """
        SELECT has_schema_privilege('service_datemaker', 'datemaker', 'USAGE'),
               has_schema_privilege('service_datemaker', 'datemaker', 'CREATE'),
               has_sequence_privilege('service_datemaker', 'public.dating_events_id_seq', 'USAGE'),
               has_sequence_privilege('service_datemaker', 'datemaker.datingevents_events_notification_id_seq', 'USAGE'),
               has_column_privilege('service_datemaker', 'public.users', 'rating', 'SELECT'),
               has_column_privilege('service_datemaker', 'public.users', 'password_hash', 'SELECT')
    """) == [(True, False, True, True, True, False)]


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
        admin.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE service_datemaker')
    try:
        settings = pg_settings(postgres_settings.postgres_db, DATEMAKER_POSTGRES_USER=login)
        app = open_dating_events(settings)  # the check at start reads the recorded steps
        wire_id = app.schedule_event(start=datetime(2026, 12, 5, 16, tzinfo=UTC), timezone="UTC")
        app.register(wire_id, 1, Profile(sex="F"))
        assert app.get_event(wire_id).registered_user_ids == [1]
        at = datetime(2026, 12, 5, 16, tzinfo=UTC)
        app.store.record_pair_history([DatesHeld(wire_id, 1, (2,), at)], [ReactionGiven(wire_id, 2, 1, "report", at)])
        assert {f.kind for f in app.store.pair_history([1, 2], 3)} == {"met", "report"}
        later = datetime(2026, 12, 6, tzinfo=UTC)  # leases naming their holder (its advisory lock, pg_locks)
        assert [d.wire_id for d in app.claim_due(later, 30.0, 10)] == [wire_id]
        assert app.store.claim_platform_writes(later, later, 10) == []
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
