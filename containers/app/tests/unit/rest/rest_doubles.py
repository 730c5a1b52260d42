"""Test doubles of the REST unit tests: users, tokens, a verifier and an audit log."""

from __future__ import annotations

import time

from my_monit.errors import Forbidden
from my_monit.logging.audit import AuditEvent
from my_monit.model import Role, User
from my_monit.rest.authenticator import Unauthenticated

ADMIN = User("A1", "Ada Admin", "uid-admin", "ada@example.org", Role.ADMIN)
SCIENTIST = User("S1", "Sam Scientist", "uid-sam", "sam@example.org", Role.SCIENTIST)
USERS = {user.username: user for user in (ADMIN, SCIENTIST)}
# Test tokens look like JWTs (three dot-separated parts), as the Authenticator wants.
TOKENS = {"admin.token.x": "uid-admin", "sam.token.x": "uid-sam", "nobody.token.x": "uid-nobody"}


def bearer(who: str) -> dict[str, str]:
    """Give the Authorization header of ``admin``, ``sam`` or ``nobody``."""
    return {"Authorization": f"Bearer {who}.token.x"}


class FakeVerifier:  # pylint: disable=too-few-public-methods  # the TokenVerifier role
    """Accept the test tokens, refuse anything else as Firebase would."""

    def __init__(self) -> None:
        self.calls = 0

    def verify(self, token: str) -> tuple[str, float]:
        """Map a test token to its uid."""
        self.calls += 1
        if token not in TOKENS:
            raise Unauthenticated("invalid ID token (InvalidIdTokenError)")
        return TOKENS[token], time.time() + 3600


class RecordingAuditLog:  # pylint: disable=too-few-public-methods  # the AuditLog role
    """Keep the audit events instead of logging them."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        """Keep ``event``."""
        self.events.append(event)


def authenticate(uid: str) -> User:
    """Sign ADMIN and SCIENTIST in by their uids, as UserService.authenticate would."""
    if uid not in USERS:
        raise Forbidden("sign-in", None, "no MyMONIT user for this account")
    return USERS[uid]
