"""The local PostgreSQL (127.0.0.1, trust auth): connections, the benches'
throw-away databases, and settings that point the service at one of them."""

from __future__ import annotations

import base64
import os

from typing import Any

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"


def pg_connect(dbname: str, autocommit: bool = True, application_name: str = "datemaker-bench") -> Any:
    import psycopg

    return psycopg.connect(host=HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=autocommit,
                           connect_timeout=5, application_name=application_name)


def create_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The run's own master key: personal data is sealed in every bench, as in service.
MASTER_KEY = base64.b64encode(os.urandom(32)).decode()


def make_settings(dbname: str, suffix: str, prefix: str = "dm_bench", **extra: object) -> Any:
    """Settings for the database `dbname` and a broker exchange and service
    queue named `{prefix}_{suffix}` of the bench's own; `extra` are more
    settings by variable name (MEET_API_ENDPOINT=...)."""
    from datemaker.settings import load_settings

    from harness.broker import AMQP_PORT

    return load_settings(
        POSTGRES_HOST=HOST, POSTGRES_PORT=PG_PORT, POSTGRES_DB=dbname, DATEMAKER_POSTGRES_USER=PG_USER,
        DATEMAKER_POSTGRES_PASSWORD="", DATEMAKER_STORE="postgres", RABBITMQ_HOST=HOST,
        RABBITMQ_PORT=AMQP_PORT, RABBITMQ_EXCHANGE=f"{prefix}_{suffix}",
        DATEMAKER_RABBITMQ_QUEUE=f"{prefix}_{suffix}_in", DEBUG=False,
        DATEMAKER_RABBITMQ_USERNAME="guest", DATEMAKER_RABBITMQ_PASSWORD="guest",
        DATEMAKER_LOG_LEVEL="WARNING", DATEMAKER_MASTER_KEY=MASTER_KEY, **extra,
    )
