"""TLS to PostgreSQL and RabbitMQ. The test servers speak none, so a proxy
(tests/support/tls.py) terminates TLS in front of them with a throwaway CA:
every connection the service makes goes through it and verifies the server
against that CA; TLS required of a server without it fails with a clear
error instead of falling back to plain text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import psycopg
import pytest
from eventsourcing.persistence import PersistenceError

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.migrate import apply_steps
from datemaker.adapters.postgres.schema import apply_schema, connect
from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher, PublishFailed
from datemaker.adapters.rabbitmq.topology import broker_url
from datemaker.app.bot_messages import Outgoing
from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import StoreUnavailable
from datemaker.runtime.bootstrap import open_dating_events
from datemaker.settings import Settings

from ..support.bot_harness import TestBot, broker_settings, run, running_service
from ..support.postgres import PG_PORT, pg_settings
from ..support.tls import Certificates, TlsProxy, make_certificates

NO_TLS = "server does not support SSL, but SSL was required"


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def stranger(tmp_path: Path) -> Certificates:
    """Another CA, which did not sign the proxy's certificate."""
    return make_certificates(tmp_path / "other", common_name="some other CA")


@pytest.fixture
def postgres_proxy(certificates: Certificates) -> Iterator[TlsProxy]:
    proxy = TlsProxy(PG_PORT, certificates, postgres=True)
    yield proxy
    proxy.close()


def tls_postgres(dbname: str, port: int, mode: str, root: Path | None = None) -> Settings:
    overrides: dict[str, object] = {"POSTGRES_PORT": port, "DATEMAKER_POSTGRES_SSLMODE": mode}
    if root is not None:
        overrides["DATEMAKER_POSTGRES_SSLROOTCERT"] = str(root)
    return pg_settings(dbname, **overrides)


@pytest.mark.postgres
def test_sslmode_require_against_a_server_without_tls_fails_on_every_path(databases):
    dbname = databases.with_platform()
    settings = tls_postgres(dbname, PG_PORT, "require")
    with pytest.raises(psycopg.OperationalError, match=NO_TLS):
        connect(settings)
    with pytest.raises(psycopg.OperationalError, match=NO_TLS):  # `serve` and every command, at start
        open_dating_events(settings)
    with connect(pg_settings(dbname)) as plain, pytest.raises(psycopg.OperationalError, match=NO_TLS):
        apply_steps(settings, plain)  # yoyo's own connection
    assert connect(pg_settings(dbname)).close() is None  # by default, as before


@pytest.mark.postgres
def test_every_postgres_connection_verifies_the_server_against_the_root_certificate(
    databases, postgres_proxy, certificates
):
    dbname = databases.with_platform()
    settings = tls_postgres(dbname, postgres_proxy.port, "verify-full", certificates.ca)
    with connect(settings) as conn:
        assert conn.pgconn.ssl_in_use
    before = postgres_proxy.handshakes
    assert "0007_service_role_reads_user_columns" in apply_schema(settings)  # connect, then yoyo's
    assert postgres_proxy.handshakes >= before + 2
    before = postgres_proxy.handshakes
    app = DatingEvents(env=persistence_env(settings))
    try:
        assert app.profiles([1]) == {}
        assert postgres_proxy.handshakes > before  # the pool's connection
    finally:
        app.close()


@pytest.mark.postgres
def test_a_server_certificate_from_another_ca_is_refused_on_every_path(databases, postgres_proxy, stranger):
    dbname = databases.with_schema()
    settings = tls_postgres(dbname, postgres_proxy.port, "verify-full", stranger.ca)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(settings)
    # The pool only says it got no connection; the cause is the same (the
    # library's own default would have connected without verifying).
    with pytest.raises((PersistenceError, StoreUnavailable), match="couldn't get a connection"):
        DatingEvents(env={**persistence_env(settings), "POSTGRES_CONNECT_TIMEOUT": "1"}).profiles([1])
    with connect(pg_settings(dbname)) as plain, pytest.raises(psycopg.OperationalError, match="certificate verify"):
        apply_steps(settings, plain)


def bot_message(user_id: int) -> Outgoing:
    return Outgoing(42, user_id, "send_event_cancelled", {"over": "tls"})


def tls_broker(settings: Settings, port: int, ca: Path) -> Settings:
    return settings.model_copy(update={"rabbitmq_ssl": True, "rabbitmq_port": port, "rabbitmq_ssl_cafile": ca})


@pytest.mark.rabbitmq
def test_the_consumer_and_the_publisher_reach_the_broker_over_tls(sqlite_settings, certificates):
    settings = broker_settings(sqlite_settings)
    proxy = TlsProxy(settings.rabbitmq_port, certificates)
    secure = tls_broker(settings, proxy.port, certificates.ca)
    assert broker_url(secure).startswith("amqps://")
    app = DatingEvents(env=persistence_env(settings))
    app.seed_platform_users([(1, "anna", "F", None, "Moscow", 0.0, 2)])

    async def main() -> None:
        bot = TestBot(settings)  # the bot itself, on the plain port
        await bot.start()
        publisher = ConfirmedPublisher(secure)
        try:
            async with running_service(secure, app):
                assert await bot.command("list_events", 1) == []
            await publisher.publish([bot_message(7)])
            reply = await bot.reply()
            assert (reply.headers["user_id"], reply.body) == ("7", {"send_event_cancelled": {"over": "tls"}})
        finally:
            await publisher.close()
            await bot.close()

    try:
        run(main)
        assert proxy.handshakes >= 2  # the consumer's and the publisher's
    finally:
        app.close()
        proxy.close()


@pytest.mark.rabbitmq
def test_tls_to_a_broker_without_it_or_with_a_stranger_certificate_fails_clearly(sqlite_settings, certificates,
                                                                                 stranger):
    settings = broker_settings(sqlite_settings)
    proxy = TlsProxy(settings.rabbitmq_port, certificates)
    plain_port = tls_broker(settings, settings.rabbitmq_port, certificates.ca)
    wrong_ca = tls_broker(settings, proxy.port, stranger.ca)

    async def main() -> None:
        for target, why in ((plain_port, "SSL"), (wrong_ca, "certificate verify failed")):
            publisher = ConfirmedPublisher(target)
            with pytest.raises(PublishFailed, match=f"cannot connect to RabbitMQ at 127.0.0.1:{target.rabbitmq_port}"
                                                    f": .*{why}") as failed:
                await publisher.publish([bot_message(7)])
            assert settings.rabbitmq_password.get_secret_value() not in str(failed.value)
            await publisher.close()
            with pytest.raises((aio_pika.exceptions.AMQPConnectionError, ConnectionError, OSError)):
                await asyncio.wait_for(aio_pika.connect(broker_url(target)), 10)

    try:
        run(main)
        assert proxy.handshakes == 0
    finally:
        proxy.close()

