"""What goes in and out of the REST API: marshmallow schemas and the JSON of each object.

Input is validated by the schemas (unknown fields refused). Output is written by the
``*_json`` functions, which are much cheaper than ``Schema.dump`` for 1000-row pages;
the schemas document that output, and a unit test keeps the two in step.

Every error message here is fixed text: none repeats the submitted value.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any, Mapping

import marshmallow as ma
from marshmallow import fields, validate

from my_monit.errors import InvalidArgument
from my_monit.model import (
    EMAIL_MAX,
    EMAIL_PATTERN,
    EXPERIMENT_NAME_MAX,
    MEASURE_TYPE_NAME_MAX,
    NAME_MAX,
    QUANTITY_MAX,
    STAFF_ID_PATTERN,
    SYMBOL_MAX,
    USERNAME_MAX,
    Experiment,
    MeasureType,
    Role,
    User,
    format_timestamp,
    parse_timestamp,
)
from my_monit.services import DEFAULT_LIMIT, MAX_LIMIT
from my_monit.storage import MeasureCursor, MeasureRow

EXPERIMENT_ID_MAX = 4294967295  # INT UNSIGNED
ROLES = [role.value for role in Role]
STAFF_ID_ERROR = "must be 1-30 letters, digits, '-' or '_'"


def _whole(pattern: re.Pattern[str]) -> re.Pattern[str]:
    # marshmallow's Regexp matches a prefix only; the model's patterns mean the whole value.
    return re.compile(rf"(?:{pattern.pattern})\Z")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


def _text(maximum: int) -> list[Any]:
    return [validate.Length(1, maximum, error=f"must be 1 to {maximum} characters"), _not_blank]


def _staff_id(description: str = "staff id", **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(_whole(STAFF_ID_PATTERN), error=STAFF_ID_ERROR),
        metadata={"description": description, "example": "S123"},
        **kwargs,
    )


def _email(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[
            validate.Length(1, EMAIL_MAX, error=f"must be 1 to {EMAIL_MAX} characters"),
            validate.Regexp(_whole(EMAIL_PATTERN), error="must be an email address"),
        ],
        metadata={"example": "jim@example.org"},
        **kwargs,
    )


def _role(description: str = "ADMIN or SCIENTIST", **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(ROLES, error="must be ADMIN or SCIENTIST"),
        metadata={"description": description, "enum": ROLES},
        **kwargs,
    )


class Instant(fields.Field):
    """A point in time: ISO 8601 with a zone, or unix seconds (fractions allowed)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return parse_timestamp(value, attr or "time")
        except InvalidArgument as error:
            raise ma.ValidationError("must be ISO 8601 with a zone, or unix seconds") from error


class MeasureCursorField(fields.Field):
    """Where the next page of measures starts: an opaque token from a ``Link`` header."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else encode_cursor(value)

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> MeasureCursor:
        try:
            return decode_cursor(value)
        except (TypeError, ValueError) as error:
            raise ma.ValidationError("is not a cursor from a Link header") from error


def encode_cursor(cursor: MeasureCursor) -> str:
    """Write a cursor as an opaque URL-safe token."""
    text = f"{format_timestamp(cursor.timestamp)},{cursor.measure_id}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(token: object) -> MeasureCursor:
    """Read a token written by :func:`encode_cursor`; ValueError if it is not one."""
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        raise ValueError("not a cursor")
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError("not a cursor") from error
    moment, _, measure_id = text.partition(",")
    if not measure_id.isdigit():
        raise ValueError("not a cursor")
    try:
        return MeasureCursor(parse_timestamp(moment), int(measure_id))
    except InvalidArgument as error:
        raise ValueError("not a cursor") from error


class Schema(ma.Schema):
    """A schema that refuses unknown fields and keeps the declared field order."""

    class Meta:  # pylint: disable=too-few-public-methods  # marshmallow options
        """Refuse unknown fields, in bodies and query strings alike."""

        unknown = ma.RAISE
        ordered = True


# users


class UserSchema(Schema):
    """A user: staff id, name, Firebase uid (``username``), email and role."""

    user_id = _staff_id(required=True)
    name = fields.String(required=True, validate=_text(NAME_MAX))
    username = fields.String(
        required=True,
        validate=_text(USERNAME_MAX),
        metadata={"description": "the user's Firebase uid"},
    )
    email = _email(required=True)
    role = _role("ADMIN or SCIENTIST (the default)", load_default=Role.SCIENTIST.value)


class UserChangesSchema(Schema):
    """Some fields of a user; fields left out stay as they are."""

    user_id = _staff_id("if given, the staff id of the path")
    name = fields.String(validate=_text(NAME_MAX))
    username = fields.String(validate=_text(USERNAME_MAX))
    email = _email()
    role = _role()


class UserListQuerySchema(Schema):
    """Page through users by staff id."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}"),
        metadata={"description": f"page size, 1 to {MAX_LIMIT}"},
    )
    after = _staff_id("the last staff id of the previous page", load_default="")


# experiments


class ExperimentSchema(Schema):
    """An experiment."""

    experiment_id = fields.Integer(dump_only=True, metadata={"example": 1})
    name = fields.String(
        required=True,
        validate=_text(EXPERIMENT_NAME_MAX),
        metadata={"example": "device-vibrations"},
    )


class ExperimentChangesSchema(Schema):
    """A new name for an experiment."""

    experiment_id = fields.Integer(
        metadata={"description": "if given, the experiment id of the path"}
    )
    name = fields.String(required=True, validate=_text(EXPERIMENT_NAME_MAX))


class ExperimentListQuerySchema(Schema):
    """Page through experiments by id (or the associations, by experiment id)."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}"),
        metadata={"description": f"page size, 1 to {MAX_LIMIT}"},
    )
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(0, EXPERIMENT_ID_MAX, error="must be an experiment id"),
        metadata={"description": "the last experiment id of the previous page"},
    )


class AssociationSchema(Schema):
    """A scientist's access to an experiment."""

    experiment_id = fields.Integer()
    scientist_id = fields.String()


class AssociatedUsersSchema(Schema):
    """The scientists associated with one experiment."""

    users = fields.List(fields.Nested(UserSchema))


# measures


class MeasureTypeSchema(Schema):
    """A unit of measure."""

    name = fields.String(
        required=True, validate=_text(MEASURE_TYPE_NAME_MAX), metadata={"example": "hertz"}
    )
    symbol = fields.String(required=True, validate=_text(SYMBOL_MAX), metadata={"example": "Hz"})
    quantity = fields.String(
        required=True, validate=_text(QUANTITY_MAX), metadata={"example": "frequency"}
    )


class MeasureSchema(Schema):
    """One measure; ``timestamp`` is ISO 8601 UTC with microseconds."""

    experiment = fields.String(metadata={"example": "device-vibrations"})
    measure_type = fields.String(metadata={"example": "hertz"})
    timestamp = fields.String(metadata={"example": "2022-04-06T07:00:00.000000Z"})
    value = fields.Float(metadata={"example": 100.0})


class MeasureTypeListQuerySchema(Schema):
    """Page through measure types by name."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}"),
        metadata={"description": f"page size, 1 to {MAX_LIMIT}"},
    )
    after = fields.String(
        load_default="",
        validate=validate.Length(0, MEASURE_TYPE_NAME_MAX),
        metadata={"description": "the last name of the previous page"},
    )


class MeasureFilterSchema(Schema):
    """Filter an experiment's measures by time and measure type."""

    since = Instant(
        data_key="from",
        load_default=None,
        metadata={
            "type": "string",
            "description": "earliest time, inclusive: ISO 8601 with a zone, or unix seconds",
        },
    )
    until = Instant(
        data_key="to",
        load_default=None,
        metadata={
            "type": "string",
            "description": "latest time, inclusive: ISO 8601 with a zone, or unix seconds",
        },
    )
    measure_type = fields.String(
        data_key="type",
        load_default=None,
        validate=_text(MEASURE_TYPE_NAME_MAX),
        metadata={"description": "only measures of this measure type (its name)"},
    )

    @ma.validates_schema
    def _check_range(self, data: Mapping[str, Any], **_: Any) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since > until:
            raise ma.ValidationError("must not be after 'to'", "from")


class MeasureQuerySchema(MeasureFilterSchema):
    """Filter an experiment's measures and page through them, newest first."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}"),
        metadata={"description": f"page size, 1 to {MAX_LIMIT}"},
    )
    before = MeasureCursorField(
        load_default=None,
        metadata={
            "type": "string",
            "description": "where the next page starts: take it from the Link header",
        },
    )


# errors


class ProblemSchema(Schema):
    """An error, as RFC 9457 problem details."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Bad Request"})
    status = fields.Integer(metadata={"example": 400})
    detail = fields.String(metadata={"example": "name: must be 1 to 100 characters"})
    request_id = fields.String(metadata={"description": "the X-Request-ID of the call"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "for invalid input: messages by field"},
    )


class StatusSchema(Schema):
    """A health probe's answer."""

    status = fields.String(metadata={"example": "ok"})


# JSON of each object


def user_json(user: User) -> dict[str, Any]:
    """Give a user as the API shows it (outside a logging context: real values)."""
    return {
        "user_id": user.user_id,
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "role": user.role.value,
    }


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """Give an experiment as the API shows it."""
    return {"experiment_id": experiment.experiment_id, "name": experiment.name}


def measure_type_json(measure_type: MeasureType) -> dict[str, Any]:
    """Give a measure type as the API shows it."""
    return {
        "name": measure_type.name,
        "symbol": measure_type.symbol,
        "quantity": measure_type.quantity,
    }


def measure_json(row: MeasureRow) -> dict[str, Any]:
    """Give a measure as the API shows it, its time in ISO 8601 UTC with microseconds."""
    moment = row.timestamp
    # Storage gives naive UTC times; writing them directly halves the cost of a 1000-row page.
    timestamp = (
        moment.isoformat(timespec="microseconds") + "Z"
        if moment.tzinfo is None
        else format_timestamp(moment)
    )
    return {
        "experiment": row.experiment,
        "measure_type": row.measure_type,
        "timestamp": timestamp,
        "value": row.value,
    }
