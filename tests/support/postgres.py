"""Throwaway PostgreSQL databases for the tests: each test gets a database of
its own, cloned from a template, so runs never collide. The templates are made
as production is: the platform's migrations (tests/fixtures/platform_schema.sql)
first, then `datemaker db init`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg

from datemaker.adapters.postgres.schema import apply_schema
from datemaker.settings import Settings, load_settings

PG_HOST = os.environ.get("POSTGRES_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("POSTGRES_PORT", "5432"))
PG_ADMIN_USER = os.environ.get("DATEMAKER_TEST_POSTGRES_USER", "postgres")
PLATFORM_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "platform_schema.sql"


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN_USER, dbname="postgres", autocommit=True)


def apply_platform_schema(dbname: str) -> None:
    """What the platform's own migrations leave, applied before datemaker arrives."""
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN_USER, dbname=dbname, autocommit=True) as conn:
        conn.execute(PLATFORM_SCHEMA.read_text(encoding="utf-8").encode())


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
        self.platform_template: str | None = None

    def empty(self) -> str:
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return name

    def with_platform(self) -> str:
        """A database holding only the platform's schema, as before datemaker."""
        if self.platform_template is None:
            self.platform_template = self.empty()
            apply_platform_schema(self.platform_template)
        return self._clone(self.platform_template)

    def with_schema(self) -> str:
        """The platform's schema, then `datemaker db init` (apply_schema)."""
        if self.template is None:
            self.template = self.empty()
            apply_platform_schema(self.template)
            apply_schema(pg_settings(self.template))
        return self._clone(self.template)

    def with_platform_rows(self, statements: list[str]) -> str:
        """The platform's schema holding the rows `statements` write (what the
        platform had before datemaker arrived), then `datemaker db init`."""
        name = self.with_platform()
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN_USER, dbname=name, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())
        apply_schema(pg_settings(name))
        return name

    def _clone(self, template: str) -> str:
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        with admin_connection() as conn:
            for name in reversed(self.made):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
