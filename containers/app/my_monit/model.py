"""The domain model: immutable, validated value objects."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from my_monit.errors import InvalidArgument
from my_monit.logging.facets import Faceted, do_not_log, outside_logging_context

STAFF_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,30}")
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
NAME_MAX = 100
USERNAME_MAX = 128
EMAIL_MAX = 254
EXPERIMENT_NAME_MAX = 100
MEASURE_TYPE_NAME_MAX = 64
SYMBOL_MAX = 16
QUANTITY_MAX = 100


class Role(str, enum.Enum):
    """What a user may do: administer everything, or read associated experiments."""

    ADMIN = "ADMIN"
    SCIENTIST = "SCIENTIST"

    @classmethod
    def parse(cls, value: object) -> Role:
        """Turn ``"ADMIN"`` or ``"SCIENTIST"`` into a role."""
        try:
            return cls(value)
        except ValueError as error:
            raise InvalidArgument("user", "role", "must be ADMIN or SCIENTIST") from error


def _check_text(what: str, field: str, value: object, maximum: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(what, field, "must be a non-empty string")
    if len(value) > maximum:
        raise InvalidArgument(what, field, f"must be at most {maximum} characters")


def check_staff_id(value: object) -> str:
    """Return ``value`` if it is a valid staff id, else raise InvalidArgument."""
    if not isinstance(value, str) or not STAFF_ID_PATTERN.fullmatch(value):
        raise InvalidArgument("user", "user_id", "must be 1-30 letters, digits, '-' or '_'")
    return value


@dataclass(frozen=True)
class User(Faceted):
    """A person known to MyMONIT; ``username`` is their Firebase uid.

    An erased user keeps only ``user_id`` and ``role``: the other fields are ``None``.
    """

    user_id: str
    name: str | None = do_not_log()
    username: str | None = do_not_log()
    email: str | None = do_not_log()
    role: Role = Role.SCIENTIST
    erased: bool = False

    def __post_init__(self) -> None:
        check_staff_id(self.user_id)
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role.parse(self.role))
        if not self.erased:
            with outside_logging_context():
                self._check_personal_data()

    def _check_personal_data(self) -> None:
        _check_text("user", "name", self.name, NAME_MAX)
        _check_text("user", "username", self.username, USERNAME_MAX)
        _check_text("user", "email", self.email, EMAIL_MAX)
        if not EMAIL_PATTERN.fullmatch(self.email or ""):
            raise InvalidArgument("user", "email", "must be an email address")

    @property
    def is_admin(self) -> bool:
        """Tell whether the user administers MyMONIT."""
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Experiment:
    """An experiment whose measures MyMONIT stores; ``experiment_id`` is None until stored."""

    experiment_id: int | None
    name: str

    def __post_init__(self) -> None:
        _check_text("experiment", "name", self.name, EXPERIMENT_NAME_MAX)


@dataclass(frozen=True)
class MeasureType:
    """A unit of measure, such as hertz (Hz) for a frequency."""

    name: str
    symbol: str
    quantity: str

    def __post_init__(self) -> None:
        _check_text("measure_type", "name", self.name, MEASURE_TYPE_NAME_MAX)
        _check_text("measure_type", "symbol", self.symbol, SYMBOL_MAX)
        _check_text("measure_type", "quantity", self.quantity, QUANTITY_MAX)


@dataclass(frozen=True, slots=True)
class Measure:
    """One value of one measure type, taken at a UTC instant, for one experiment."""

    experiment: str
    measure_type: str
    timestamp: datetime
    value: float

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise InvalidArgument("measure", "timestamp", "must carry a time zone")
        if self.timestamp.utcoffset():
            object.__setattr__(self, "timestamp", self.timestamp.astimezone(timezone.utc))
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise InvalidArgument("measure", "value", "must be a number")
        if not math.isfinite(self.value):
            raise InvalidArgument("measure", "value", "must be a finite number")


def parse_timestamp(value: object, field: str = "timestamp") -> datetime:
    """Read unix seconds (fractions allowed) or ISO 8601 with a zone as an aware UTC datetime."""
    if isinstance(value, bool):
        raise InvalidArgument("measure", field, "must be unix seconds or ISO 8601")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidArgument("measure", field, "must be a finite number")
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as error:
            raise InvalidArgument("measure", field, "is out of range") from error
    if isinstance(value, str):
        text = value.strip()
        try:
            return parse_timestamp(float(text), field)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as error:
            raise InvalidArgument("measure", field, "must be unix seconds or ISO 8601") from error
        if parsed.tzinfo is None:
            raise InvalidArgument("measure", field, "must carry a time zone")
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError as error:  # its offset takes it past year 1 or year 9999
            raise InvalidArgument("measure", field, "is out of range") from error
    raise InvalidArgument("measure", field, "must be unix seconds or ISO 8601")


def format_timestamp(value: datetime) -> str:
    """Write an aware or UTC-naive datetime as ISO 8601 UTC with microseconds, ``...Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"
