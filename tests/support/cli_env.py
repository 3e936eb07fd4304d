"""Point the CLI's settings at a store through the environment, as a user would."""

from __future__ import annotations

import pytest

from datemaker.settings import Settings


def point_cli_at(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    if settings.uses_postgres:
        monkeypatch.setenv("DATEMAKER_STORE", "postgres")
        monkeypatch.setenv("POSTGRES_HOST", settings.postgres_host or "127.0.0.1")
        monkeypatch.setenv("POSTGRES_PORT", str(settings.postgres_port))
        monkeypatch.setenv("POSTGRES_DB", settings.postgres_db)
        monkeypatch.setenv("DATEMAKER_POSTGRES_USER", settings.postgres_user)
    else:
        monkeypatch.setenv("DATEMAKER_STORE", "sqlite")
        monkeypatch.setenv("DATEMAKER_SQLITE_PATH", settings.sqlite_path)
