"""datemaker's schema as versioned steps (migrations/NNNN_*.sql, shipped as
package data), applied in file order by yoyo-migrations through psycopg 3.

yoyo records what it applied in its own tables (`_yoyo_migration`,
`_yoyo_log`, `_yoyo_version`, `yoyo_lock`), kept out of the platform's
`public` schema: its connections run with `search_path` set to `datemaker`.
Every step is idempotent on its own (IF NOT EXISTS, DO blocks), so a step
that ran but was not recorded (a crash in between) is safe to run again."""

from __future__ import annotations

import logging
from importlib import resources
from urllib.parse import quote, urlencode

import psycopg

from datemaker.adapters.postgres.tls import tls_options
from datemaker.settings import Settings

SCHEMA = "datemaker"
MIGRATIONS = "package:datemaker:adapters/postgres/migrations"
# yoyo's record of applied steps (yoyo.migrations.default_migration_table).
APPLIED_TABLE = f"{SCHEMA}._yoyo_migration"
LOCK_TIMEOUT_SECONDS = 60


class MigrationFailed(Exception):
    """A step failed; the database is left as the steps before it made it."""


def step_ids() -> list[str]:
    """Every step shipped with this datemaker, in the order they apply."""
    folder = resources.files("datemaker").joinpath("adapters/postgres/migrations")
    return sorted(
        entry.name.removesuffix(".sql")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and not entry.name.endswith(".rollback.sql")
    )


def applied_steps(conn: psycopg.Connection) -> set[str]:
    """The steps recorded as applied; read directly, so a check writes nothing."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (APPLIED_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute(f"SELECT migration_id FROM {APPLIED_TABLE}")}


def missing_steps(conn: psycopg.Connection) -> list[str]:
    done = applied_steps(conn)
    return [step for step in step_ids() if step not in done]


def yoyo_uri(settings: Settings) -> str:
    user = quote(settings.postgres_user, safe="")
    password = quote(settings.postgres_password.get_secret_value(), safe="")
    host = settings.postgres_host or "127.0.0.1"
    query = urlencode({"schema": SCHEMA, "connect_timeout": "5", "application_name": "datemaker-migrate",
                       **tls_options(settings)})
    return f"postgresql+psycopg://{user}:{password}@{host}:{settings.postgres_port}/{quote(settings.postgres_db)}?{query}"


def apply_steps(settings: Settings, conn: psycopg.Connection) -> list[str]:
    """Apply every step not yet recorded, one transaction each, holding
    yoyo's lock so two instances never migrate at once. Returns the ids applied."""
    from yoyo import get_backend, read_migrations

    # yoyo keeps its tables in the first schema of its search_path.
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.commit()
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    backend = get_backend(yoyo_uri(settings))
    try:
        migrations = read_migrations(MIGRATIONS)
        applied: list[str] = []
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            for migration in backend.to_apply(migrations):
                try:
                    backend.apply_one(migration)
                except psycopg.Error as exc:
                    detail = " ".join(str(exc).split()) or type(exc).__name__
                    raise MigrationFailed(f"step {migration.id} failed: {detail}") from exc
                applied.append(migration.id)
        return applied
    finally:
        backend.connection.close()
