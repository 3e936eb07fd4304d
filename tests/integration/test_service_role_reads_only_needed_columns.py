"""Least privilege on the platform's users: after `datemaker db init` on the
platform's database (which grants `service_datemaker` SELECT on the whole of
`public.users`), the service role reads exactly the columns pairing and the
rooms use, and never `password_hash` or `bio`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg
import pytest

from datemaker.adapters.postgres.migrate import MigrationFailed
from datemaker.adapters.postgres.platform_shape import REQUIRED_COLUMNS
from datemaker.adapters.postgres.privileges import warn_when_over_privileged
from datemaker.adapters.postgres.schema import apply_schema, connect
from datemaker.domain.profile import Profile
from datemaker.runtime.bootstrap import open_dating_events
from datemaker.settings import Settings

from ..support.postgres import admin_connection, pg_settings

pytestmark = pytest.mark.postgres

ANNA = (
    "INSERT INTO public.users (id, username, password_hash, bio, birthday, sex, name, city, rating, manual_score)"
    " VALUES (5, 'anna_k', '$2b$12$not-for-datemaker', 'cats and chess', '1995-04-01', 'F', 'Anna', 'Moscow', 4.5, 3)"
)


@contextmanager
def service_login(dbname: str) -> Iterator[Settings]:
    """Settings for a login user granted service_datemaker and nothing else."""
    login = f"datemaker_test_{uuid.uuid4().hex[:8]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE service_datemaker')
    try:
        yield pg_settings(dbname, DATEMAKER_POSTGRES_USER=login)
    finally:
        with admin_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (login,))
            admin.execute(f'DROP ROLE "{login}"')


def test_the_service_role_loads_profiles_and_names_but_cannot_read_password_hashes(databases):
    dbname = databases.with_platform_rows([ANNA])
    with service_login(dbname) as settings:
        app = open_dating_events(settings)
        try:
            assert app.profiles([5, 6]) == {
                5: Profile(sex="F", birthday=date(1995, 4, 1), city="Moscow", rating=4.5, manual_score=3)
            }
            assert app.platform_names([5]) == {5: ["Anna", "anna_k"]}
        finally:
            app.close()
        with connect(settings) as conn:
            assert conn.execute("SELECT count(*) FROM public.users").fetchone() == (1,)
            for column in ("password_hash", "bio", "*"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(f"SELECT {column} FROM public.users")
                conn.rollback()
        assert warn_when_over_privileged(settings) == []


def test_the_grant_is_exactly_the_users_columns_datemaker_reads(databases):
    dbname = databases.with_platform_rows([])
    with connect(pg_settings(dbname)) as conn:
        readable = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attnum > 0"
            " AND NOT attisdropped AND has_column_privilege('service_datemaker', attrelid, attnum, 'SELECT')"
        ).fetchall()
        assert sorted(name for (name,) in readable) == sorted(REQUIRED_COLUMNS["users"])
        assert conn.execute("SELECT has_table_privilege('service_datemaker', 'public.users', 'SELECT')").fetchone() == (
            False,
        )


def test_db_init_stays_least_privilege_when_run_again(databases):
    dbname = databases.with_platform_rows([ANNA])
    settings = pg_settings(dbname)
    assert apply_schema(settings) == []
    with connect(settings) as conn:
        # what the platform's migrations granted, granted again (e.g. a re-run)
        conn.execute("GRANT SELECT ON public.users TO service_datemaker")
        conn.execute("DELETE FROM datemaker._yoyo_migration WHERE migration_id = '0007_service_role_reads_user_columns'")
        conn.commit()
    assert apply_schema(settings) == ["0007_service_role_reads_user_columns"]
    with service_login(dbname) as login, connect(login) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT password_hash FROM public.users")


def test_the_service_reports_a_database_user_that_reads_more_than_it_needs(databases):
    dbname = databases.with_platform_rows([ANNA])
    # the superuser the tests run as reads every column
    assert warn_when_over_privileged(pg_settings(dbname)) == ["password_hash", "bio"]


def test_db_init_fails_naming_the_columns_while_another_grant_still_exposes_them(databases):
    dbname = databases.with_platform()
    with connect(pg_settings(dbname)) as conn:
        conn.execute("GRANT SELECT ON public.users TO PUBLIC")  # not datemaker's to take away
        conn.commit()
    with pytest.raises(MigrationFailed, match="0007_service_role_reads_user_columns failed: .*password_hash, bio"):
        apply_schema(pg_settings(dbname))
