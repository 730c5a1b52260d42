"""UserResource: /users/ — administration, self-service and erasure."""

from __future__ import annotations

from typing import Any

from flask import url_for

from my_monit.errors import InvalidArgument
from my_monit.model import User
from my_monit.rest.context import actor, admin_only, admin_or_self, audited, container, note
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, no_content, respond, respond_page
from my_monit.rest.schemas import (
    UserChangesSchema,
    UserListQuerySchema,
    UserSchema,
    user_json,
)

resource = ResourceBlueprint(
    "users",
    __name__,
    url_prefix="/users",
    description="Users: staff id, name, email, Firebase uid (username) and role.",
)
_FIELDS = ("name", "username", "email", "role")


@resource.route("/", methods=["POST"])
@audited("user.create", "user")
@admin_only
@resource.arguments(UserSchema())
@resource.response(201, UserSchema)
@resource.alt_response(409, response="CONFLICT")
def create_user(body: dict[str, Any]) -> Any:
    """Create a user (admin)

    A taken staff id, username or email is a 409, an erased user's staff id included.
    """
    note().object_id = body["user_id"]
    user = container().user_service().create_user(actor(), User(**body))

    note().changes = tuple(sorted(body))
    location = url_for(".get_user", user_id=user.user_id)
    return respond(user_json(user), 201, {"Location": location})


@resource.route("/", methods=["GET"])
@audited("user.list", "user")
@admin_only
@resource.arguments(UserListQuerySchema(), location="query")
@resource.response(200, UserSchema(many=True), headers=NEXT_LINK)
def list_users(query: dict[str, Any]) -> Any:
    """List users by staff id (admin)

    Erased users are left out. When more users follow, a `Link` header with rel="next"
    gives the next page.
    """
    page = container().user_service().list_users(actor(), query["after"], query["limit"])

    note().details["count"] = len(page.items)
    more = None if page.next_cursor is None else {"after": page.next_cursor}
    return respond_page([user_json(user) for user in page.items], more)


@resource.route("/me", methods=["GET"])
@audited("user.read_self", "user")
@resource.response(200, UserSchema)
def get_me() -> Any:
    """Read the signed-in user (anyone signed in)"""
    note().object_id = actor().user_id
    return respond(user_json(actor()))


@resource.route("/<staff_id:user_id>", methods=["GET"])
@audited("user.read", "user")
@resource.response(200, UserSchema)
@resource.alt_response(404, response="NOT_FOUND")
def get_user(user_id: str) -> Any:
    """Read a user (admin, or the user themselves)"""
    user = container().user_service().get_user(actor(), user_id)
    return respond(user_json(user))


@resource.route("/<staff_id:user_id>", methods=["PUT"])
@audited("user.update", "user")
@admin_or_self
@resource.arguments(UserChangesSchema())
@resource.response(200, UserSchema)
@resource.alt_response(404, response="NOT_FOUND")
@resource.alt_response(409, response="CONFLICT")
def update_user(changes: dict[str, Any], user_id: str) -> Any:
    """Change some fields of a user; fields left out stay as they are

    An admin may change name, email, username and role; a user their own name and email
    (a changed username or role from them is a 403).
    """
    if changes.pop("user_id", user_id) != user_id:
        raise InvalidArgument("user", "user_id", "must be the staff id of the path")
    users = container().user_service()
    before = users.get_user(actor(), user_id)

    after = users.update_user(actor(), user_id, changes)

    note().changes = _changed(before, after)
    return respond(user_json(after))


@resource.route("/<staff_id:user_id>", methods=["DELETE"])
@audited("user.erase", "user")
@admin_only
@resource.response(204)
@resource.alt_response(404, response="NOT_FOUND")
def erase_user(user_id: str) -> Any:
    """Erase a user (admin)

    Name, email and username are removed for good, with the user's associations; the
    staff id stays for the audit trail and cannot be used again.
    """
    container().user_service().erase_user(actor(), user_id)

    note().changes = ("name", "username", "email")
    return no_content()


def _changed(before: User, after: User) -> tuple[str, ...]:
    return tuple(field for field in _FIELDS if getattr(before, field) != getattr(after, field))
