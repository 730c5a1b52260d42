"""A record of the personal data that tests hand to the app, for a leak check at the end.

``PersonalData`` keeps every name, email and Firebase uid that a test session creates or
sends, whether it goes to the API in a request body, into the database directly, or to
the Firebase emulator, so that a final check can look for all of them in what the app
logged, erased users included::

    recorded = PersonalData()
    recorded.add_user(user)                        # a my_monit.model.User
    recorded.add_body("/users/", {"name": "Ada"})  # what a test sent to the API
    assert find_leaks(texts, recorded.values()) == []
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterable

# The personal fields of a user in the API's bodies; other resources' names are not personal.
PERSONAL_FIELDS = ("name", "email", "username")


class PersonalData:
    """Collect personal values, in the order first seen, without repeats."""

    def __init__(self) -> None:
        self._values: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, *values: Any) -> None:
        """Keep each value that is a non-empty string (others are not personal data)."""
        with self._lock:
            for value in values:
                if isinstance(value, str) and value.strip():
                    self._values.setdefault(value, None)

    def add_user(self, user: Any) -> None:
        """Keep the name, email and username of a user object (a ``User`` or alike)."""
        self.add(*(getattr(user, name, None) for name in PERSONAL_FIELDS))

    def add_account(self, account: Any) -> None:
        """Keep the uid and email of a Firebase account."""
        self.add(getattr(account, "uid", None), getattr(account, "email", None))

    def add_body(self, path: str, body: Any) -> None:
        """Keep the personal fields of a request body sent to a ``/users`` route.

        ``body`` is what a test passed as ``json=`` or ``data=``: a dict, or JSON text
        (text that is not JSON, a deliberately malformed body, holds nothing to keep).
        """
        if "/users" not in path:
            return
        if isinstance(body, (str, bytes)):
            try:
                body = json.loads(body)
            except ValueError:
                return
        if isinstance(body, dict):
            self.add(*(body.get(name) for name in PERSONAL_FIELDS))

    def values(self) -> list[str]:
        """Every value kept so far."""
        with self._lock:
            return list(self._values)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


def lines_of(texts: Iterable[str | bytes]) -> list[str]:
    """Give each text as lines of text, bytes decoded (undecodable bytes replaced)."""
    lines: list[str] = []
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        lines.extend(text.splitlines())
    return lines
