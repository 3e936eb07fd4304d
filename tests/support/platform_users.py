"""Rows in the platform's users table, which datemaker only reads."""

from __future__ import annotations

from datemaker.adapters.postgres.schema import connect


def add_users(settings, sexes: dict[int, str]) -> None:
    with connect(settings) as conn:
        conn.cursor().executemany(
            "INSERT INTO public.users (id, username, sex, birthday, city, rating, manual_score)"
            " VALUES (%s, %s, %s, '1995-05-05', 'Moscow', 3.5, 2)",
            [(uid, f"user{uid}", sex) for uid, sex in sexes.items()],
        )
