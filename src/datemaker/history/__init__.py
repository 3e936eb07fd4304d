"""Complaint review: any dating event's history replayed from the event
store, as text, JSON or one HTML page, whole or as it was at an instant,
and one user's view across events (`datemaker history`)."""

from datemaker.history.load import BeforeTheEvent, History, load_history
from datemaker.history.timeline import Entry, build_timeline, version_at
from datemaker.history.user_view import UnknownUser, UserHistory, user_history

__all__ = [
    "BeforeTheEvent",
    "Entry",
    "History",
    "UnknownUser",
    "UserHistory",
    "build_timeline",
    "load_history",
    "user_history",
    "version_at",
]
