"""The shape check `datemaker db init` runs before any step: every platform
table that already exists must have each column datemaker reads or writes,
with a type datemaker can work with. A table that is missing is fine (step
0001 creates it); anything else stops db init before it changes anything."""

from __future__ import annotations

import psycopg

INTEGERS = ("smallint", "integer", "bigint")
BIGINT = ("bigint",)
TEXT = ("character varying", "text", "character")
TIMESTAMP = ("timestamp without time zone", "timestamp with time zone")
TIMESTAMPTZ = ("timestamp with time zone",)
BOOLEAN = ("boolean",)

# table -> column -> the types (format_type) accepted.
REQUIRED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {
        "id": BIGINT, "username": TEXT, "name": TEXT, "sex": TEXT, "city": TEXT,
        "birthday": ("date",), "rating": ("real", "double precision"), "manual_score": INTEGERS,
    },
    "dating_events": {
        # a naive TIMESTAMP would be read in whatever zone the session has
        "id": BIGINT, "start_dttm": TIMESTAMPTZ, "users_limit": INTEGERS, "state_id": INTEGERS,
    },
    "event_states": {"id": INTEGERS, "state_name": TEXT},
    "dating_registrations": {
        "user_id": BIGINT, "event_id": BIGINT,
        "registered_on_dttm": TIMESTAMP, "confirmed_on_dttm": TIMESTAMP,
        "is_ready": BOOLEAN, "confirmation_event_sent": BOOLEAN,
    },
    "dating_event_groups": {
        # smallint and integer are accepted: step 0004 widens event_id to bigint
        "event_id": INTEGERS, "group_no": INTEGERS, "pair_no": INTEGERS, "turn_no": INTEGERS,
        "user_1_id": BIGINT, "user_2_id": BIGINT,
    },
    **{
        reactions: {"source_user_id": BIGINT, "target_user_id": BIGINT, "event_id": BIGINT, "action_time": TIMESTAMP}
        for reactions in ("likes", "dislikes", "reports")
    },
    "matches": {"user_1_id": BIGINT, "user_2_id": BIGINT, "event_id": BIGINT},
    "mismatches": {"user_1_id": BIGINT, "user_2_id": BIGINT, "event_id": BIGINT},
}

# Columns step 0003 adds: checked only where they already exist, since
# ADD COLUMN IF NOT EXISTS would leave a column of another type as it is.
ADDED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "dating_events": {"timezone": TEXT, "capacity": INTEGERS, "created_at": TIMESTAMPTZ},
}

TYPE_NAMES = {BIGINT: "bigint", INTEGERS: "an integer type", TEXT: "a text type",
              TIMESTAMP: "timestamp", TIMESTAMPTZ: "timestamp with time zone", BOOLEAN: "boolean"}


class PlatformShapeMismatch(Exception):
    """A platform table exists in a shape datemaker cannot work with."""


def _needs(accepted: tuple[str, ...]) -> str:
    return TYPE_NAMES.get(accepted) or " or ".join(accepted)


def shape_problems(conn: psycopg.Connection) -> list[str]:
    """One sentence per column that is missing or of a type datemaker cannot use."""
    # pg_catalog, not information_schema: that one hides columns the user
    # holds no privilege on. A domain counts as its base type.
    rows = conn.execute(
        "SELECT c.relname, a.attname,"
        "       format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, NULL)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = ANY(%s)",
        (list(REQUIRED_COLUMNS),),
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        found.setdefault(table, {})[column] = data_type
    problems = []
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in found:
            continue  # created by step 0001
        present = found[table]
        for column, accepted in columns.items():
            if column not in present:
                problems.append(f"public.{table}.{column} is missing; datemaker needs {_needs(accepted)}")
            elif present[column] not in accepted:
                problems.append(f"public.{table}.{column} is {present[column]}; datemaker needs {_needs(accepted)}")
        for column, accepted in ADDED_COLUMNS.get(table, {}).items():
            if column in present and present[column] not in accepted:
                problems.append(f"public.{table}.{column} is {present[column]}; datemaker needs {_needs(accepted)}")
    return problems


def check_platform_shape(conn: psycopg.Connection) -> None:
    problems = shape_problems(conn)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PlatformShapeMismatch(problems[0] + more)
