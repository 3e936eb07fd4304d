"""PostgreSQL connections, the schema and its check at start. The schema is
the versioned steps in migrations/ (migrate.py applies them), run after a
check of the platform's tables (platform_shape.py)."""

from __future__ import annotations

import psycopg

from datemaker.adapters.postgres.migrate import SCHEMA, apply_steps, missing_steps
from datemaker.adapters.postgres.platform_shape import check_platform_shape
from datemaker.adapters.postgres.tls import tls_options
from datemaker.projections import tables
from datemaker.settings import Settings

# What `datemaker serve` needs to find before it starts: (schema, table): the
# platform's tables it reads, the event store's own tables, then the
# analytics read models and their tracking.
REQUIRED_TABLES = (
    ("public", "users"),
    ("public", "event_states"),
    (SCHEMA, "datingevents_events"),
    (SCHEMA, "datingevents_snapshots"),
    (SCHEMA, "handled_commands"),
    (SCHEMA, "deadlines"),
    (SCHEMA, "outbox_position"),
    (SCHEMA, "event_summary"),
    (SCHEMA, "user_blocks"),
    (SCHEMA, "pair_dates"),
    (SCHEMA, "pair_reactions"),
    (SCHEMA, "person_keys"),
    (SCHEMA, "master_keys"),
    (SCHEMA, "person_events"),
    (SCHEMA, "erasures"),
    *tables.REQUIRED,
)


class SchemaMissing(Exception):
    """The database lacks steps or tables datemaker needs; `datemaker db init` makes them."""


def connect(settings: Settings, *, dbname: str | None = None, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(
        host=settings.postgres_host or "127.0.0.1",
        port=settings.postgres_port,
        dbname=dbname or settings.postgres_db,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        connect_timeout=5,
        autocommit=autocommit,
        application_name="datemaker",
        **tls_options(settings),
    )


def migrate(settings: Settings) -> list[str]:
    """Apply the steps not yet applied (`datemaker db migrate`); returns their ids."""
    with connect(settings) as conn:
        return apply_steps(settings, conn)


def apply_schema(settings: Settings) -> list[str]:
    """`datemaker db init`: check the platform's tables that exist, then apply
    the missing steps. Safe to run again; a failed check changes nothing."""
    with connect(settings) as conn:
        check_platform_shape(conn)
        conn.rollback()
        return apply_steps(settings, conn)


def missing_tables(settings: Settings) -> list[str]:
    with connect(settings) as conn:
        return _missing_tables(conn)


def _missing_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE (table_schema, table_name) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        ([s for s, _ in REQUIRED_TABLES], [t for _, t in REQUIRED_TABLES]),
    ).fetchall()
    found = {(s, t) for s, t in rows}
    return [f"{s}.{t}" for s, t in REQUIRED_TABLES if (s, t) not in found]


def schema_problems(settings: Settings) -> list[str]:
    """The steps not recorded as applied, then the required tables not found."""
    with connect(settings) as conn:
        steps, missing = missing_steps(conn), _missing_tables(conn)
    return [f"{kind} {', '.join(names)}" for kind, names in (("steps", steps), ("tables", missing)) if names]


def check_schema(settings: Settings) -> None:
    problems = schema_problems(settings)
    if problems:
        raise SchemaMissing(
            f"database {settings.postgres_db!r} lacks {'; '.join(problems)}: run `datemaker db init`"
        )
