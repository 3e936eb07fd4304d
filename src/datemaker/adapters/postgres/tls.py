"""libpq's TLS parameters from the settings, for every PostgreSQL connection
datemaker opens: its own (`schema.connect`), yoyo's (`migrate.yoyo_uri`) and
the event store's pool (`recorder.PostgresStore`, via `persistence_env`)."""

from __future__ import annotations

from datemaker.settings import Settings

# persistence_env's names for them (the library maps neither)
ENV_NAMES = {"sslmode": "POSTGRES_SSLMODE", "sslrootcert": "POSTGRES_SSLROOTCERT"}


def tls_options(settings: Settings) -> dict[str, str]:
    """sslmode and sslrootcert where set; unset, libpq's defaults apply (PGSSLMODE, else prefer)."""
    options = {"sslmode": settings.postgres_sslmode, "sslrootcert": settings.postgres_sslrootcert}
    return {name: str(value) for name, value in options.items() if value}
