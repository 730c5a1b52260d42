"""Bounded lists: every list has a default size, a maximum, and says when there is more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

from my_monit.errors import Forbidden, InvalidArgument
from my_monit.model import User

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000

T = TypeVar("T")
C = TypeVar("C")


@dataclass(frozen=True)
class Page(Generic[T, C]):
    """Up to ``limit`` items, and where the next page starts (None when this is the last)."""

    items: Sequence[T]
    next_cursor: C | None


def check_limit(limit: int) -> int:
    """Return ``limit`` if it is between 1 and MAX_LIMIT; a bad limit is refused, not clamped."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument("query", "limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def require_admin(actor: User, action: str) -> None:
    """Raise Forbidden unless ``actor`` is an administrator."""
    if not actor.is_admin:
        raise Forbidden(action, None, "requires the ADMIN role")
