"""Least privilege on the platform's users: which `public.users` columns the
service's database user can read beyond those it uses. Step 0007 leaves
`service_datemaker` with exactly those; a login user with more (the owner, a
superuser, or a grant made since) is reported at start."""

from __future__ import annotations

import psycopg

from datemaker.adapters.postgres.platform_shape import REQUIRED_COLUMNS
from datemaker.adapters.postgres.schema import connect
from datemaker.logs import get_logger
from datemaker.settings import Settings

log = get_logger(__name__)

USER_COLUMNS = tuple(REQUIRED_COLUMNS["users"])  # the columns datemaker reads, and all it may


def unneeded_readable_user_columns(conn: psycopg.Connection) -> list[str]:
    """Columns of public.users the connected user may read but datemaker never does."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute"
        " WHERE attrelid = to_regclass('public.users') AND attnum > 0 AND NOT attisdropped"
        "   AND NOT attname = ANY(%s) AND has_column_privilege(attrelid, attnum, 'SELECT')"
        " ORDER BY attnum",
        (list(USER_COLUMNS),),
    ).fetchall()
    return [name for (name,) in rows]


def warn_when_over_privileged(settings: Settings) -> list[str]:
    """At `serve` start: log the unneeded columns the service's user can read."""
    with connect(settings) as conn:
        extra = unneeded_readable_user_columns(conn)
    if extra:
        log.warning("the database user reads more of public.users than datemaker needs: run the service as"
                    " a login user granted service_datemaker (`datemaker db init` grants it just the columns)",
                    user=settings.postgres_user, columns=extra)
    return extra
