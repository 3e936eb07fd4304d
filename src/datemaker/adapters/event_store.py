"""Chooses the event store from the settings: PostgreSQL when configured,
embedded SQLite otherwise, mapped onto the eventsourcing library's own
variables so nobody has to set those by hand."""

from __future__ import annotations

from datemaker.adapters.postgres.schema import SCHEMA
from datemaker.adapters.postgres.tls import ENV_NAMES, tls_options
from datemaker.settings import Settings


def persistence_env(settings: Settings) -> dict[str, str]:
    if settings.uses_postgres:
        return {
            "PERSISTENCE_MODULE": "datemaker.adapters.postgres.recorder:PostgresStore",
            "POSTGRES_DBNAME": settings.postgres_db,
            "POSTGRES_HOST": settings.postgres_host or "127.0.0.1",
            "POSTGRES_PORT": str(settings.postgres_port),
            "POSTGRES_USER": settings.postgres_user,
            "POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
            "POSTGRES_SCHEMA": SCHEMA,
            # The library's name for how long a request waits for a pooled
            # connection: while the database is away a request fails within
            # this and is tried again, and the pool connects at each new try.
            "POSTGRES_CONNECT_TIMEOUT": "2",
            # always named, so a stray variable of the process's environment never decides
            **{env: tls_options(settings).get(name, "") for name, env in ENV_NAMES.items()},
            # Tables come from the schema steps (`datemaker db init`), checked at start.
            "CREATE_TABLE": "false",
        }
    return {
        "PERSISTENCE_MODULE": "datemaker.adapters.sqlite.recorder:SQLiteStore",
        "SQLITE_DBNAME": settings.sqlite_path,
        "CREATE_TABLE": "true",
    }
