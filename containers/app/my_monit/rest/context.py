"""What a request knows while it runs: the container, the signed-in user, the audit notes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from flask import current_app, g

from my_monit.errors import Forbidden
from my_monit.model import User

if TYPE_CHECKING:
    from my_monit.container import Container

EXTENSION = "my_monit"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AuditNote:
    """What a resource adds to its request's audit event: the object and the changed fields."""

    object_id: str | None = None
    changes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def container() -> Container:
    """Give the container the app was built from."""
    return current_app.extensions[EXTENSION]


def actor() -> User:
    """Give the signed-in user of this request."""
    return g.actor


def note() -> AuditNote:
    """Give this request's audit note, for the resource to fill in."""
    if "audit_note" not in g:
        g.audit_note = AuditNote()
    return g.audit_note


def audited(action: str, object_type: str | None = None) -> Callable[[F], F]:
    """Name the audit action of a view, such as ``user.create``, and the type of its object."""

    def mark(view: F) -> F:
        view.audit_action = action  # type: ignore[attr-defined]
        view.audit_object_type = object_type  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Mark a view that needs no token (probes and docs): it is neither signed in nor audited."""
    view.public = True  # type: ignore[attr-defined]
    return view


def admin_only(view: F) -> F:
    """Refuse non-admins before the request body is read (services check again)."""

    @functools.wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if not actor().is_admin:
            raise Forbidden(view.__name__.replace("_", " "), None, "requires the ADMIN role")
        return view(*args, **kwargs)

    return inner  # type: ignore[return-value]


def admin_or_self(view: F) -> F:
    """Refuse a caller who is neither an admin nor the path's user before the body is read."""

    @functools.wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        caller = actor()
        if not caller.is_admin and caller.user_id != kwargs.get("user_id"):
            raise Forbidden(
                view.__name__.replace("_", " "),
                kwargs.get("user_id"),
                "only an admin or the user themselves",
            )
        return view(*args, **kwargs)

    return inner  # type: ignore[return-value]
