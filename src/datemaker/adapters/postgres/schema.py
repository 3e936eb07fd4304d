"""PostgreSQL connections, the schema (schema.sql) and its check at start."""

from __future__ import annotations

from importlib import resources

import psycopg

from datemaker.projections import tables
from datemaker.settings import Settings

SCHEMA = "datemaker"

# What `datemaker serve` needs to find before it starts: (schema, table): the
# event store's own tables, then the analytics read models and their tracking.
REQUIRED_TABLES = (
    ("public", "users"),
    (SCHEMA, "datingevents_events"),
    (SCHEMA, "datingevents_snapshots"),
    (SCHEMA, "handled_commands"),
    (SCHEMA, "deadlines"),
    (SCHEMA, "outbox_position"),
    (SCHEMA, "event_summary"),
    *tables.REQUIRED,
)


class SchemaMissing(Exception):
    """The database lacks tables datemaker needs; `datemaker db init` makes them."""


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
    )


def schema_sql() -> str:
    return resources.files("datemaker").joinpath("schema.sql").read_text(encoding="utf-8")


def apply_schema(settings: Settings) -> None:
    """Create or complete everything datemaker needs; safe to run again."""
    # schema.sql holds its own BEGIN/COMMIT, so run it in autocommit mode.
    with connect(settings, autocommit=True) as conn:
        conn.execute(schema_sql().encode())


def missing_tables(settings: Settings) -> list[str]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE (table_schema, table_name) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([s for s, _ in REQUIRED_TABLES], [t for _, t in REQUIRED_TABLES]),
        ).fetchall()
    found = {(s, t) for s, t in rows}
    return [f"{s}.{t}" for s, t in REQUIRED_TABLES if (s, t) not in found]


def check_schema(settings: Settings) -> None:
    missing = missing_tables(settings)
    if missing:
        raise SchemaMissing(
            f"database {settings.postgres_db!r} lacks {', '.join(missing)}: run `datemaker db init`"
        )
