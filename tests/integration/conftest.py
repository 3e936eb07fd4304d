"""Fixtures for the in-process tests of the operator's commands."""

from __future__ import annotations

import pytest

from ..support.cli_env import point_cli_at


@pytest.fixture
def env_for(monkeypatch):
    """Point the CLI's settings at a store through the environment, as a user would."""

    def use(settings) -> None:
        point_cli_at(monkeypatch, settings)

    return use
