"""TLS settings become the right connection parameters: libpq's sslmode and
root certificate on each of the three ways datemaker connects to PostgreSQL,
amqps:// with the CA and client files for aio-pika, the same as an SSL
context for the confirmed publisher; nothing changes by default, and no
password shows in a repr."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.migrate import yoyo_uri
from datemaker.adapters.postgres.tls import tls_options
from datemaker.adapters.rabbitmq.topology import broker_url, tls_context
from datemaker.settings import SettingsError, load_settings

from ..support.tls import Certificates, make_certificates


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path)


@pytest.fixture(autouse=True)
def _no_tls_in_the_environment(monkeypatch):
    for name in ("RABBITMQ_PORT", "RABBITMQ_SSL", "RABBITMQ_SSL_CAFILE", "RABBITMQ_SSL_CERTFILE",
                 "RABBITMQ_SSL_KEYFILE", "DATEMAKER_POSTGRES_SSLMODE", "DATEMAKER_POSTGRES_SSLROOTCERT"):
        monkeypatch.delenv(name, raising=False)


def postgres(**overrides: object):
    return load_settings(POSTGRES_HOST="db.example", DATEMAKER_POSTGRES_PASSWORD="pg-s3cret", **overrides)


def test_by_default_nothing_about_tls_is_passed_on():
    settings = postgres()
    assert tls_options(settings) == {}
    assert "ssl" not in yoyo_uri(settings)
    env = persistence_env(settings)
    assert (env["POSTGRES_SSLMODE"], env["POSTGRES_SSLROOTCERT"]) == ("", "")
    assert broker_url(settings) == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert tls_context(settings) is None


def test_the_postgres_sslmode_and_root_certificate_reach_every_connection(certificates):
    settings = postgres(DATEMAKER_POSTGRES_SSLMODE="verify-full", DATEMAKER_POSTGRES_SSLROOTCERT=str(certificates.ca))
    assert tls_options(settings) == {"sslmode": "verify-full", "sslrootcert": str(certificates.ca)}
    query = parse_qs(urlsplit(yoyo_uri(settings)).query)
    assert (query["sslmode"], query["sslrootcert"]) == (["verify-full"], [str(certificates.ca)])
    env = persistence_env(settings)
    assert (env["POSTGRES_SSLMODE"], env["POSTGRES_SSLROOTCERT"]) == ("verify-full", str(certificates.ca))
    assert tls_options(postgres(DATEMAKER_POSTGRES_SSLMODE="require")) == {"sslmode": "require"}


def test_rabbitmq_ssl_switches_to_amqps_on_5671_unless_a_port_is_set():
    settings = load_settings(RABBITMQ_SSL="true", RABBITMQ_HOST="mq.example")
    assert broker_url(settings) == "amqps://guest:guest@mq.example:5671/%2F"
    assert broker_url(load_settings(RABBITMQ_SSL="true", RABBITMQ_PORT="15671")).startswith(
        "amqps://guest:guest@127.0.0.1:15671/")
    assert load_settings(RABBITMQ_SSL="false").rabbitmq_port == 5672


def test_rabbitmq_ca_and_client_files_go_to_aio_pika_and_the_publisher(certificates):
    settings = load_settings(RABBITMQ_SSL="true", RABBITMQ_SSL_CAFILE=str(certificates.ca),
                             RABBITMQ_SSL_CERTFILE=str(certificates.cert), RABBITMQ_SSL_KEYFILE=str(certificates.key))
    query = parse_qs(urlsplit(broker_url(settings)).query)
    assert query == {"cafile": [str(certificates.ca)], "certfile": [str(certificates.cert)],
                     "keyfile": [str(certificates.key)]}
    context = tls_context(settings)
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "datemaker test CA"),),)]


def test_without_a_ca_file_the_publisher_trusts_the_systems_cas():
    context = tls_context(load_settings(RABBITMQ_SSL="true"))
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATEMAKER_POSTGRES_SSLMODE", "requir"), ("DATEMAKER_POSTGRES_SSLROOTCERT", "/nowhere/root.crt"),
     ("RABBITMQ_SSL_CAFILE", "/nowhere/ca.pem"), ("RABBITMQ_SSL", "perhaps")],
)
def test_a_wrong_tls_setting_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_a_client_key_needs_its_certificate(certificates):
    with pytest.raises(SettingsError, match="RABBITMQ_SSL_KEYFILE needs RABBITMQ_SSL_CERTFILE"):
        load_settings(RABBITMQ_SSL="true", RABBITMQ_SSL_KEYFILE=str(certificates.key))


def test_no_password_shows_in_the_settings_repr(certificates):
    settings = postgres(DATEMAKER_RABBITMQ_PASSWORD="mq-s3cret", RABBITMQ_SSL="true",
                        RABBITMQ_SSL_CAFILE=str(certificates.ca), DATEMAKER_POSTGRES_SSLMODE="require")
    assert "mq-s3cret" in broker_url(settings)  # the address aio-pika needs: never logged
    assert "mq-s3cret" not in repr(settings) and "pg-s3cret" not in repr(settings)
    assert "mq-s3cret" not in str(settings) and "pg-s3cret" not in str(settings)
