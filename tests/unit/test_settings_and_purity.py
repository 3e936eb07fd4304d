from __future__ import annotations

import subprocess
import sys

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.cli.params import parse_duration
from datemaker.settings import SettingsError, load_settings


def test_embedded_sqlite_is_the_default_and_postgres_follows_a_host():
    assert not load_settings(DATEMAKER_STORE="auto").uses_postgres or load_settings().postgres_host
    settings = load_settings(POSTGRES_HOST="db.example", POSTGRES_DB="dating", DATEMAKER_POSTGRES_PASSWORD="s3cret")
    assert settings.uses_postgres
    env = persistence_env(settings)
    assert env["PERSISTENCE_MODULE"] == "datemaker.adapters.postgres.recorder:PostgresStore"
    assert (env["POSTGRES_HOST"], env["POSTGRES_DBNAME"], env["POSTGRES_PASSWORD"]) == ("db.example", "dating", "s3cret")
    assert "s3cret" not in repr(settings)


def test_debug_switches_the_routing_keys():
    assert load_settings(DEBUG="false").bot_routing_key == "tg_bot_prod"
    debug = load_settings(DEBUG="true")
    assert (debug.bot_routing_key, debug.inbound_routing_key) == ("tg_bot_dev", "date_maker_dev")
    assert debug.rabbitmq_queue == "chathub_date_maker_dev"
    assert load_settings(DEBUG="false").rabbitmq_queue == "chathub_date_maker_prod"
    assert load_settings(DATEMAKER_RABBITMQ_QUEUE="mine").rabbitmq_queue == "mine"


def test_bot_extensions_are_a_comma_separated_list():
    assert load_settings(DATEMAKER_BOT_EXTENSIONS=" send_sit_out_message, ,send_event_cancelled").bot_extensions == {
        "send_sit_out_message", "send_event_cancelled"
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [("POSTGRES_PORT", "x"), ("RABBITMQ_PORT", "70000"), ("DATEMAKER_DISPLAY_TIMEZONE", "Nowhere/City"),
     ("DATEMAKER_STORE", "mongo"), ("DEBUG", "perhaps"), ("DATEMAKER_NEVER_AFTER_DISLIKE", "sometimes"),
     ("DATEMAKER_REMEET_AFTER_EVENTS", "-1")],
)
def test_a_wrong_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_never_again_rules_come_from_the_settings(tmp_path):
    from datemaker.runtime.bootstrap import open_dating_events

    assert (load_settings().never_after_dislike, load_settings().remeet_after_events) == ("either", 3)
    settings = load_settings(DATEMAKER_STORE="sqlite", DATEMAKER_SQLITE_PATH=str(tmp_path / "s.sqlite3"),
                             DATEMAKER_NEVER_AFTER_DISLIKE="mutual", DATEMAKER_REMEET_AFTER_EVENTS="0")
    app = open_dating_events(settings)
    try:
        assert (app.never_again.dislike, app.never_again.remeet_after_events) == ("mutual", 0)
    finally:
        app.close()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("24h", 86400), ("1h30m", 5400), ("2d", 172800)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "1m1h", "-1m", "5 m"])
def test_durations_refuse_other_shapes(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.subprocess
def test_importing_the_domain_loads_no_infrastructure():
    code = (
        "import sys, datemaker.domain, datemaker.domain.dating_event, datemaker.domain.catalog;"
        "import datemaker.domain.lifecycle;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('psycopg','aio_pika','aiormq','google','prometheus_client','structlog')"
        " or m.startswith('datemaker.adapters')];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
