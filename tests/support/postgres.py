"""Throwaway PostgreSQL databases for the tests: each test gets a database of
its own, cloned from a template that holds schema.sql, so runs never collide."""

from __future__ import annotations

import os
import uuid

import psycopg

from datemaker.adapters.postgres.schema import apply_schema
from datemaker.settings import Settings, load_settings

PG_HOST = os.environ.get("POSTGRES_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("POSTGRES_PORT", "5432"))
PG_ADMIN_USER = os.environ.get("DATEMAKER_TEST_POSTGRES_USER", "postgres")


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN_USER, dbname="postgres", autocommit=True)


def pg_settings(dbname: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "POSTGRES_HOST": PG_HOST,
        "POSTGRES_PORT": PG_PORT,
        "POSTGRES_DB": dbname,
        "DATEMAKER_POSTGRES_USER": PG_ADMIN_USER,
        "DATEMAKER_POSTGRES_PASSWORD": "",
        "DATEMAKER_STORE": "postgres",
    }
    return load_settings(**{**values, **overrides})


class Databases:
    """Makes throwaway databases; drops them all at the end of the run."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.made: list[str] = []
        self.template: str | None = None

    def empty(self) -> str:
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return name

    def with_schema(self) -> str:
        if self.template is None:
            self.template = self.empty()
            apply_schema(pg_settings(self.template))
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        with admin_connection() as conn:
            for name in reversed(self.made):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
