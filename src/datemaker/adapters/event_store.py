"""Chooses the event store from the settings: PostgreSQL when configured,
embedded SQLite otherwise, mapped onto the eventsourcing library's own
variables so nobody has to set those by hand."""

from __future__ import annotations

from pathlib import Path

import psycopg

from datemaker.adapters.postgres.person_keys import stored_master_checks
from datemaker.adapters.postgres.schema import SCHEMA, connect
from datemaker.adapters.privacy.master_key import (
    ENV_CREATE,
    ENV_FILE,
    ENV_KEY,
    ENV_PREVIOUS,
    load_master_keys,
    new_key_text,
)
from datemaker.adapters.postgres.tls import ENV_NAMES, tls_options
from datemaker.settings import Settings


def master_key_env(settings: Settings) -> dict[str, str]:
    """Where the master key comes from (README, Privacy); the embedded store
    makes its file beside the database when none is named."""
    file = settings.master_key_file
    create = not settings.uses_postgres and file is None
    if create and not settings.master_key.get_secret_value():
        if settings.sqlite_path in ("", ":memory:") or settings.sqlite_path.startswith("file::memory:"):
            return {ENV_KEY: new_key_text(), ENV_FILE: "", ENV_PREVIOUS: "", ENV_CREATE: ""}  # gone with the store
        file = Path(settings.sqlite_path).with_suffix(".master-key")
    return {
        ENV_KEY: settings.master_key.get_secret_value(),
        ENV_FILE: str(file) if file else "",
        ENV_PREVIOUS: str(settings.previous_master_key_file or ""),
        ENV_CREATE: "true" if create else "",
    }


def check_master_key(settings: Settings) -> None:
    """The master key's one clear error (MasterKeyError) before `serve` forks
    its followers, which would each meet it again: PostgreSQL only (the
    embedded store is opened, and checked, by the one process)."""
    if not settings.uses_postgres:
        return
    masters = load_master_keys(master_key_env(settings))
    try:
        with connect(settings) as conn:
            checks = stored_master_checks(conn, SCHEMA)
    except psycopg.OperationalError:
        return  # not reachable yet: opening the store says so, as it always has
    masters.check(checks)


def persistence_env(settings: Settings) -> dict[str, str]:
    if settings.uses_postgres:
        return {
            **master_key_env(settings),
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
        **master_key_env(settings),
        "PERSISTENCE_MODULE": "datemaker.adapters.sqlite.recorder:SQLiteStore",
        "SQLITE_DBNAME": settings.sqlite_path,
        "CREATE_TABLE": "true",
    }
