"""One validated settings object, read from the environment (and `.env` when
present) under the platform's variable names. Nothing here connects anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from datemaker.domain.timings import parse_duration


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    debug: bool = Field(False, alias="DEBUG")

    # RabbitMQ
    rabbitmq_host: str = Field("127.0.0.1", alias="RABBITMQ_HOST")
    rabbitmq_port: int = Field(5672, alias="RABBITMQ_PORT", gt=0, lt=65536)
    rabbitmq_virtual_host: str = Field("/", alias="RABBITMQ_VIRTUAL_HOST")
    rabbitmq_exchange: str = Field("chathub_direct_main", alias="RABBITMQ_EXCHANGE")
    # Unset: chathub_date_maker_prod, or chathub_date_maker_dev when DEBUG=true.
    rabbitmq_queue: str = Field("", alias="DATEMAKER_RABBITMQ_QUEUE")
    rabbitmq_username: str = Field("guest", alias="DATEMAKER_RABBITMQ_USERNAME")
    rabbitmq_password: SecretStr = Field(SecretStr("guest"), alias="DATEMAKER_RABBITMQ_PASSWORD")
    # TLS (amqps://; port 5671 unless RABBITMQ_PORT is set), the server checked against the CA file
    # (else the system's CAs); a client certificate and key when the broker asks for one.
    rabbitmq_ssl: bool = Field(False, alias="RABBITMQ_SSL")
    rabbitmq_ssl_cafile: FilePath | None = Field(None, alias="RABBITMQ_SSL_CAFILE")
    rabbitmq_ssl_certfile: FilePath | None = Field(None, alias="RABBITMQ_SSL_CERTFILE")
    rabbitmq_ssl_keyfile: FilePath | None = Field(None, alias="RABBITMQ_SSL_KEYFILE")
    # Bounds of <queue>.dead_letter (queue arguments; the oldest go first).
    dead_letter_max_length: int = Field(100_000, alias="DATEMAKER_DEAD_LETTER_MAX_LENGTH", gt=0)
    dead_letter_ttl_seconds: int = Field(14 * 86400, alias="DATEMAKER_DEAD_LETTER_TTL_SECONDS", gt=0)

    # Event store: PostgreSQL when a host is configured, else embedded SQLite.
    store: Literal["auto", "postgres", "sqlite"] = Field("auto", alias="DATEMAKER_STORE")
    postgres_host: str | None = Field(None, alias="POSTGRES_HOST")
    postgres_port: int = Field(5432, alias="POSTGRES_PORT", gt=0, lt=65536)
    postgres_db: str = Field("datemaker", alias="POSTGRES_DB")
    postgres_user: str = Field("postgres", alias="DATEMAKER_POSTGRES_USER")
    postgres_password: SecretStr = Field(SecretStr(""), alias="DATEMAKER_POSTGRES_PASSWORD")
    # libpq's sslmode and root certificate for every connection; unset: libpq's own (PGSSLMODE, else prefer).
    postgres_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        None, alias="DATEMAKER_POSTGRES_SSLMODE")
    postgres_sslrootcert: FilePath | None = Field(None, alias="DATEMAKER_POSTGRES_SSLROOTCERT")
    sqlite_path: str = Field("datemaker.sqlite3", alias="DATEMAKER_SQLITE_PATH")

    # Privacy (README, Privacy): the master key that wraps every person's key, as
    # base64 text or a file holding it; unset with the embedded store: a file
    # beside its database, made on first use. The previous one is read during a rotation.
    master_key: SecretStr = Field(SecretStr(""), alias="DATEMAKER_MASTER_KEY")
    master_key_file: Path | None = Field(None, alias="DATEMAKER_MASTER_KEY_FILE")
    previous_master_key_file: Path | None = Field(None, alias="DATEMAKER_PREVIOUS_MASTER_KEY_FILE")
    # Erase a person this many days after their last event ended (0: never by age).
    personal_data_days: int = Field(0, alias="DATEMAKER_PERSONAL_DATA_DAYS", ge=0)

    # Google Meet
    meet_creds_file: Path = Field(Path("creds.json"), alias="MEET_CREDS_FILE")
    # One token file per host account: comma-separated, or a directory of *.json files.
    meet_token_file: str = Field("token.json", alias="MEET_TOKEN_FILE")
    meet_backend: Literal["fake", "google"] = Field("fake", alias="DATEMAKER_MEET_BACKEND")
    # Unset: Google's own endpoint. A plain http:// address (a local fake) is
    # called with anonymous credentials.
    meet_api_endpoint: str = Field("", alias="MEET_API_ENDPOINT")
    # Paces under the account's quotas; creates and ends together stay under
    # the 100 writes a minute, reads under 600.
    meet_create_per_minute: float = Field(10.0, alias="DATEMAKER_MEET_CREATE_PER_MINUTE", gt=0)
    meet_writes_per_minute: float = Field(90.0, alias="DATEMAKER_MEET_WRITES_PER_MINUTE", gt=0)
    meet_reads_per_minute: float = Field(500.0, alias="DATEMAKER_MEET_READS_PER_MINUTE", gt=0)
    # All accounts together: the Cloud project's spaces.create quota.
    meet_project_create_per_minute: float = Field(100.0, alias="DATEMAKER_MEET_PROJECT_CREATE_PER_MINUTE", gt=0)
    # The pool of rooms made ahead holds the dates of this long ahead (0: no
    # pool, rooms made only once a plan is fixed) plus a margin of rooms.
    meet_pool_horizon: int = Field(24 * 3600, alias="DATEMAKER_MEET_POOL_HORIZON", ge=0)
    meet_pool_margin: int = Field(100, alias="DATEMAKER_MEET_POOL_MARGIN", ge=0)

    # Behaviour
    display_timezone: str = Field(
        "Europe/Moscow",
        alias="DATEMAKER_DISPLAY_TIMEZONE",
    )
    bot_extensions: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), alias="DATEMAKER_BOT_EXTENSIONS"
    )
    # Seconds (or 3h, 90m) before confirmation closes that the unconfirmed are
    # asked again, 0 never: the default of events scheduled from now on.
    confirm_reminder: int = Field(3 * 3600, alias="DATEMAKER_CONFIRM_REMINDER", ge=0)
    # /metrics, /healthz and /readyz: this host only unless set (0.0.0.0 is
    # every network, warned about at start); port 0 picks a free one, -1 turns them off.
    metrics_host: str = Field("127.0.0.1", alias="DATEMAKER_METRICS_HOST")
    metrics_port: int = Field(9464, alias="DATEMAKER_METRICS_PORT", ge=-1, lt=65536)
    # /healthz is 503 when messages wait this long with none settled.
    consumer_stall_seconds: float = Field(60.0, alias="DATEMAKER_CONSUMER_STALL_SECONDS", gt=0)
    schedule_horizon_days: int = Field(14, alias="DATEMAKER_SCHEDULE_HORIZON_DAYS", ge=1, le=366)
    clock_lease_seconds: float = Field(30.0, alias="DATEMAKER_CLOCK_LEASE_SECONDS", gt=0)
    # Never again (README, Moderation): a dislike at an earlier event keeps two people apart when
    # given either way, or only when given each way; a date keeps them apart for the next N events.
    never_after_dislike: Literal["either", "mutual"] = Field("either", alias="DATEMAKER_NEVER_AFTER_DISLIKE")
    remeet_after_events: int = Field(3, alias="DATEMAKER_REMEET_AFTER_EVENTS", ge=0, le=1000)
    # With PostgreSQL, the outbox relay and the analytics follower run in
    # processes of their own, so a round's fan-out never slows the clock.
    follower_processes: bool = Field(True, alias="DATEMAKER_FOLLOWER_PROCESSES")
    # Block a user reported by this many distinct people within 30 days (0: off; PostgreSQL only).
    auto_block_reports: int = Field(0, alias="DATEMAKER_AUTO_BLOCK_REPORTS", ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="DATEMAKER_LOG_LEVEL"
    )

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("confirm_reminder", "meet_pool_horizon", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().isdigit():
            return parse_duration(value)  # a ValueError names the variable
        return value

    @field_validator("bot_extensions", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    @model_validator(mode="after")
    def _queue_follows_debug(self) -> Settings:
        if not self.rabbitmq_queue:
            self.rabbitmq_queue = "chathub_date_maker_dev" if self.debug else "chathub_date_maker_prod"
        if self.rabbitmq_ssl and "rabbitmq_port" not in self.model_fields_set:
            self.rabbitmq_port = 5671  # AMQP over TLS
        if self.rabbitmq_ssl_keyfile and not self.rabbitmq_ssl_certfile:
            raise ValueError("RABBITMQ_SSL_KEYFILE needs RABBITMQ_SSL_CERTFILE")
        return self

    @property
    def uses_postgres(self) -> bool:
        if self.store == "auto":
            return self.postgres_host is not None
        return self.store == "postgres"

    @property
    def bot_routing_key(self) -> str:
        return "tg_bot_dev" if self.debug else "tg_bot_prod"

    @property
    def inbound_routing_key(self) -> str:
        return "date_maker_dev" if self.debug else "date_maker_prod"


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a wrong value raises SettingsError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(part) for part in err["loc"]) or "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
