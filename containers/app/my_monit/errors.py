"""Domain errors: what went wrong, on which object, with no knowledge of HTTP or AMQP.

Messages name entities and fields, never a submitted name, email or username, so that
they can be logged and returned to callers as they are.
"""

from __future__ import annotations


class MyMonitError(Exception):
    """Base of the domain errors; ``what`` is the entity, ``which`` the id or field."""

    def __init__(self, what: str, which: object = None, reason: str | None = None) -> None:
        self.what = what
        self.which = which
        self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        """Say what failed, on which object, and why."""
        subject = self.what if self.which is None else f"{self.what} {self.which}"
        return f"{subject}: {self.reason}" if self.reason else subject


class NotFound(MyMonitError):
    """The entity does not exist (or is hidden from the caller)."""

    def describe(self) -> str:
        return f"{super().describe()} not found"


class Conflict(MyMonitError):
    """The change clashes with existing data (a unique field is taken)."""


class InvalidArgument(MyMonitError):
    """A value is malformed or not allowed here."""


class Forbidden(MyMonitError):
    """The actor may not do this."""


class Unavailable(MyMonitError):
    """A backing service (database, broker) does not answer; the call may be retried."""
