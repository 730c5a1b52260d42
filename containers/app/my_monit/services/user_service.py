"""Users: sign-in mapping, administration, self-service and erasure."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from my_monit.errors import Forbidden, InvalidArgument, NotFound
from my_monit.model import Role, User
from my_monit.services.paging import Page, check_limit, require_admin
from my_monit.services.user_cache import UserCache
from my_monit.storage import Storage

ADMIN_FIELDS = frozenset({"name", "email", "username", "role"})
SELF_FIELDS = frozenset({"name", "email"})


class UserService:
    """Create, read, change and erase users, as the caller's role allows."""

    def __init__(self, storage: Storage, cache: UserCache | None = None) -> None:
        self._storage = storage
        self._cache = cache

    def authenticate(self, username: str) -> User:
        """Map a verified Firebase uid to its user; Forbidden if none or erased.

        With a cache, a user who signed in a moment ago is not looked up again, until a
        user changes (see ``UserCache``).
        """
        if self._cache is None:
            return self._signing_in(username)
        version = self._cache.version()
        user = self._cache.get(username)
        if user is None:
            user = self._signing_in(username)
            self._cache.put(username, user, version)
        return user

    def _signing_in(self, username: str) -> User:
        user = self._storage.get_user_by_username(username)
        if user is None or user.erased:
            raise Forbidden("sign-in", None, "no MyMONIT user for this account")
        return user

    def create_admin(self, user: User) -> User:
        """Store the first administrator, without an actor (bootstrap from the command line)."""
        if user.role is not Role.ADMIN:
            raise InvalidArgument("user", "role", "must be ADMIN")
        self._storage.insert_user(user)
        self._changed()
        return user

    def create_user(self, actor: User, user: User) -> User:
        """Store a new user; admins only."""
        require_admin(actor, "create user")
        if user.erased:
            raise InvalidArgument("user", "erased", "a new user cannot be erased")
        self._storage.insert_user(user)
        self._changed()
        return user

    def list_users(self, actor: User, after: str = "", limit: int = 1000) -> Page[User, str]:
        """List users (not erased) by staff id; admins only."""
        require_admin(actor, "list users")
        rows = self._storage.list_users(after, check_limit(limit) + 1)
        more = len(rows) > limit
        return Page(rows[:limit], rows[limit - 1].user_id if more else None)

    def get_user(self, actor: User, user_id: str) -> User:
        """Read a user: an admin any, anyone else only themselves."""
        self._require_admin_or_self(actor, user_id, "read user")
        return self._existing(user_id)

    def update_user(self, actor: User, user_id: str, changes: Mapping[str, Any]) -> User:
        """Change some fields of a user; fields left out stay as they are.

        Admins may change name, email, username and role; users their own name and email.
        """
        self._require_admin_or_self(actor, user_id, "update user")
        allowed = ADMIN_FIELDS if actor.is_admin else SELF_FIELDS
        current = self._existing(user_id)
        refused = sorted(
            field for field, value in changes.items()
            if field not in allowed and _differs(current, field, value)
        )
        if refused:
            raise Forbidden("update user", user_id, f"may not change {', '.join(refused)}")
        updated = dataclasses.replace(current, **{k: changes[k] for k in allowed & changes.keys()})
        self._storage.update_user(updated)
        self._changed()
        return updated

    def erase_user(self, actor: User, user_id: str) -> None:
        """Erase a user's personal data for good (GDPR), keeping the staff id; admins only."""
        require_admin(actor, "erase user")
        if user_id == actor.user_id:
            raise InvalidArgument("user", user_id, "an administrator cannot erase themselves")
        self._storage.erase_user(user_id)
        self._changed()

    def _changed(self) -> None:
        """After a change is committed: no process may sign in with the old user again."""
        if self._cache is not None:
            self._cache.changed()

    def _existing(self, user_id: str) -> User:
        user = self._storage.get_user(user_id)
        if user is None or user.erased:
            raise NotFound("user", user_id)
        return user

    @staticmethod
    def _require_admin_or_self(actor: User, user_id: str, action: str) -> None:
        if not actor.is_admin and actor.user_id != user_id:
            raise Forbidden(action, user_id, "only an admin or the user themselves")


def _differs(user: User, field: str, value: Any) -> bool:
    if field == "role":
        return Role.parse(value) is not user.role
    return getattr(user, field, None) != value
