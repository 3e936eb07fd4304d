"""Why a command on a dating event was refused. Each error carries `reason`,
the short machine-readable word the bot protocol puts in a false reply."""


class DomainError(Exception):
    reason = "refused"


class IllegalTransition(DomainError):
    reason = "illegal_transition"

    def __init__(self, state: str, action: str) -> None:
        super().__init__(f"cannot {action} while the event is {state}")
        self.state = state
        self.action = action


class EventOver(IllegalTransition):
    """Nothing changes an event once it is FINISHED, SKIPPED or CANCELLED."""

    reason = "event_over"


class RegistrationClosed(DomainError):
    reason = "registration_closed"


class EventFull(DomainError):
    reason = "event_full"


class AlreadyRegistered(DomainError):
    reason = "already_registered"


class NotRegistered(DomainError):
    reason = "not_registered"


class ConfirmationClosed(DomainError):
    reason = "confirmation_closed"


class AlreadyConfirmed(DomainError):
    reason = "already_confirmed"


class UnknownEvent(DomainError):
    reason = "unknown_event"


class InvalidSchedule(DomainError):
    reason = "invalid_schedule"


class NotParticipant(DomainError):
    reason = "not_participant"


class ReadyCheckClosed(DomainError):
    reason = "ready_check_closed"


class AlreadyReady(DomainError):
    reason = "already_ready"


class RatingClosed(DomainError):
    reason = "rating_closed"


class NotYourPartner(DomainError):
    reason = "not_your_partner"


class AlreadyReported(DomainError):
    """A report stands: it is filed once, and no later reaction replaces it."""

    reason = "already_reported"


class UnknownReaction(DomainError):
    reason = "unknown_reaction"


class UserBlocked(DomainError):
    """A moderator blocked the user: no new registrations."""

    reason = "blocked"


class AlreadyLeft(DomainError):
    """They left the event (or were taken out of it) while it ran: once."""

    reason = "already_left"


class RoundsOver(DomainError):
    """The last round is over: there are no rounds left to leave."""

    reason = "rounds_over"
