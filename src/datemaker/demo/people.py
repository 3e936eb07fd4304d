"""Simulated bot users: seeded profiles, and how each answers the bot's
prompts (most confirm, most show up, everyone rates their partners)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from datemaker.app.bot_commands import BotCommand
from datemaker.app.bot_messages import Outgoing

CITIES = ("Moscow", "Saint Petersburg", "Kazan")


@dataclass(frozen=True)
class Person:
    user_id: int
    sex: str
    birthday: date
    city: str
    rating: float
    manual_score: int
    confirms: bool
    shows_up: bool
    likes: float  # chance of liking a partner

    def row(self) -> tuple[object, ...]:
        """As a row of the platform's users table."""
        return (self.user_id, f"demo{self.user_id}", self.sex, self.birthday.isoformat(), self.city,
                self.rating, self.manual_score)


def crowd(count: int, rng: random.Random, today: date, first_id: int = 7000) -> list[Person]:
    return [
        Person(
            user_id=first_id + n,
            sex="MF"[n % 2],
            birthday=today - timedelta(days=int(365.25 * rng.uniform(18, 40))),
            city=rng.choice(CITIES),
            rating=round(rng.uniform(0, 5), 1),
            manual_score=rng.choice((1, 2, 2, 3)),
            confirms=rng.random() < 0.92,
            shows_up=rng.random() < 0.9,
            likes=rng.uniform(0.3, 0.8),
        )
        for n in range(count)
    ]


def answer(person: Person, message: Outgoing, rng: random.Random) -> BotCommand | None:
    """What this person presses in the bot after `message`, if anything."""
    event = message.event_id
    if message.command == "confirm_registration" and person.confirms:
        return BotCommand("confirm_registration", person.user_id, event)
    if message.command == "send_ready_for_event_request" and person.shows_up:
        return BotCommand("ready_for_event", person.user_id, event)
    if message.command == "send_partner_rating_request" and message.data:
        reaction = "like" if rng.random() < person.likes else "dislike"
        return BotCommand("rate_partner", person.user_id, event, partner_id=message.data["partner_id"], reaction=reaction)
    return None
