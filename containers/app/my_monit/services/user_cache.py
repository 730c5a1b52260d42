"""The users that signed in a moment ago, kept until any user changes or for a second.

Every REST call maps its token's uid to a user, and that lookup was half of the database
work of a short call (a sixth of its CPU time on a loaded machine). ``UserCache`` keeps
each user it looked up for ``seconds``, and drops them all as soon as a user changes:

- through the API of the same server, at once, in each of its worker processes. Each
  change writes a new number into a page of memory that ``UserChanges`` shares between
  the gunicorn workers (it is made in the master, before they fork), and a worker reads
  that number on every sign-in;
- anywhere else (another replica, a statement run by hand), once ``seconds`` have passed.

Only users are kept: a uid with no user, or an erased one, is looked up every time, so a
new user can sign in at once.
"""

from __future__ import annotations

import mmap
import secrets
import struct
import threading
import time
from typing import Callable

from my_monit.model import User

# The change number: 8 bytes at the start of the shared page, written and read whole.
_NUMBER = struct.Struct("=Q")


class UserChanges:
    """A number that changes with each change of a user, shared with forked processes."""

    def __init__(self) -> None:
        # Anonymous and MAP_SHARED (mmap's default): children forked later share the page.
        self._page = mmap.mmap(-1, mmap.PAGESIZE)
        self.changed()

    def current(self) -> int:
        """Give the number: it differs from every earlier one once a user has changed."""
        return int(_NUMBER.unpack_from(self._page)[0])

    def changed(self) -> None:
        """Tell every process sharing the page that a user changed.

        A random number rather than a count: two workers writing at once cannot both write
        the same next value and hide one change from a reader that saw the first.
        """
        _NUMBER.pack_into(self._page, 0, secrets.randbits(64))


class UserCache:
    """Users by Firebase uid, each kept ``seconds`` at most and none after a change."""

    def __init__(
        self,
        changes: UserChanges,
        seconds: float,
        size: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._changes = changes
        self._seconds = seconds
        self._size = size
        self._clock = clock
        self._entries: dict[str, tuple[User, int, float]] = {}
        self._lock = threading.Lock()

    def version(self) -> int:
        """Give the change number, to read before looking a user up in the database.

        A user stored with the number read before its lookup is dropped if a change was
        committed while the lookup ran, even when the lookup missed that change.
        """
        return self._changes.current()

    def get(self, username: str) -> User | None:
        """Give the user of this uid if it was looked up a moment ago, and nothing changed."""
        entry = self._entries.get(username)
        if entry is None:
            return None
        user, version, until = entry
        if version != self._changes.current() or until <= self._clock():
            with self._lock:
                if self._entries.get(username) is entry:
                    del self._entries[username]
            return None
        return user

    def put(self, username: str, user: User, version: int) -> None:
        """Keep a user looked up after reading ``version``."""
        if self._seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._size:
                # Full: more uids signed in within seconds than it holds. Start again.
                self._entries.clear()
            self._entries[username] = (user, version, self._clock() + self._seconds)

    def changed(self) -> None:
        """Drop every user, here and in the processes that share the change number."""
        self._changes.changed()
        with self._lock:
            self._entries.clear()
