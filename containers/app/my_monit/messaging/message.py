"""Measure messages: validate an AMQP body into typed measures, or say why it never can be.

A body is one JSON object ``{"experiment", "measure", "value", "timestamp"}`` or a
non-empty array of them. This runs once per delivered message on the consumer's I/O
thread, so it avoids per-measure objects heavier than a tuple.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson  # pylint: disable=no-member  # a C extension that pylint cannot inspect

from my_monit.errors import InvalidArgument
from my_monit.model import parse_timestamp

FIELDS = ("experiment", "measure", "value", "timestamp")
REASON_HEADER = "x-mymonit-reason"
_EPOCH = datetime(1970, 1, 1)
# DATETIME(6) holds years 1000 to 9999: outside them MySQL would refuse the whole batch.
_FIRST = datetime(1000, 1, 1)
_FIRST_SECONDS = (_FIRST - _EPOCH).total_seconds()
# The first second past year 9999, exclusive. The fast path stops a second short of it:
# a float that close to the end can round up to a microsecond past 9999 and overflow.
_END_SECONDS = (datetime(9999, 12, 31, 23, 59, 59) - _EPOCH).total_seconds() + 1
_FAST_END_SECONDS = _END_SECONDS - 1
_SECONDS_TYPES = (int, float)


class Rejected(InvalidArgument):
    """A message that can never be stored; ``code`` names the case for counts and headers."""

    def __init__(self, code: str, which: object = None, reason: str | None = None) -> None:
        self.code = code
        super().__init__("message", which, reason or code.replace("_", " "))

    @property
    def header(self) -> str:
        """Give the ``x-mymonit-reason`` header value: the code, then what was wrong."""
        where = f"{self.which} " if self.which else ""
        return f"{self.code}: {where}{self.reason}"


class ParsedMeasure(NamedTuple):
    """A valid measure whose names are not yet resolved to ids; ``taken_at`` is naive UTC.

    A NamedTuple rather than a frozen dataclass: one is built per measure on the hot path.
    """

    experiment: str
    measure_type: str
    taken_at: datetime
    value: float


# ParsedMeasure(...) goes through a generated __new__; tuple.__new__ builds the same
# object in half the time, which counts once per measure.
def _new_measure(fields: tuple[str, str, datetime, float]) -> ParsedMeasure:
    return tuple.__new__(ParsedMeasure, fields)  # type: ignore[type-var]


def parse_body(body: bytes) -> tuple[ParsedMeasure, ...]:
    """Validate a message body into its measures; raise Rejected when it can never be stored."""
    document = _load(body)
    if isinstance(document, dict):
        return (_measure(document, None),)
    if not isinstance(document, list):
        raise Rejected("not_object", None, "body is neither a JSON object nor an array")
    if not document:
        raise Rejected("empty_array", None, "body is an empty array")
    return tuple(_measure(item, index) for index, item in enumerate(document))


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)  # pylint: disable=no-member  # C extension, see import
    except orjson.JSONDecodeError:  # pylint: disable=no-member  # C extension, see import
        pass
    # orjson refuses numbers out of a double's range, which the standard parser reads as
    # infinities: the message is then refused for its value, a more useful reason.
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise Rejected("not_json", None, "body is not JSON") from error


def _measure(item: Any, index: int | None) -> ParsedMeasure:
    if not isinstance(item, dict):
        raise Rejected("not_object", _where(index, None), "is not a JSON object")
    try:
        experiment = item["experiment"]
        measure_type = item["measure"]
        value = item["value"]
        timestamp = item["timestamp"]
    except KeyError as error:
        raise Rejected("missing_field", _where(index, error.args[0]), "is missing") from error
    if type(experiment) is not str:  # pylint: disable=unidiomatic-typecheck  # hot path
        raise Rejected("wrong_type", _where(index, "experiment"), "must be a string")
    if type(measure_type) is not str:  # pylint: disable=unidiomatic-typecheck  # hot path
        raise Rejected("wrong_type", _where(index, "measure"), "must be a string")

    # The usual message, checked inline: a finite float, a timestamp in unix seconds.
    # (x - x is 0.0 for every finite float, NaN for NaN and the infinities.)
    # pylint: disable-next=unidiomatic-typecheck  # exact types: the fast path
    if type(value) is not float or value - value != 0.0:
        value = _value(value, index)
    # pylint: disable-next=unidiomatic-typecheck  # exact types: the fast path
    if type(timestamp) in _SECONDS_TYPES and _FIRST_SECONDS <= timestamp < _FAST_END_SECONDS:
        taken_at = _EPOCH + timedelta(seconds=timestamp)
    else:
        taken_at = _taken_at(timestamp, index)
    return _new_measure((experiment, measure_type, taken_at, value))


def _value(value: Any, index: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected("wrong_type", _where(index, "value"), "must be a number")
    try:
        number = float(value)
    except OverflowError as error:
        raise Rejected("not_finite", _where(index, "value"), "must be a finite number") from error
    if not math.isfinite(number):
        raise Rejected("not_finite", _where(index, "value"), "must be a finite number")
    return number


def _taken_at(timestamp: Any, index: int | None) -> datetime:
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        # Adding to the epoch is twice as fast as fromtimestamp() and gives the same
        # microsecond rounding; the range check also turns away NaN and infinities.
        if not _FIRST_SECONDS <= timestamp < _END_SECONDS:
            raise Rejected("bad_timestamp", _where(index, "timestamp"), "is out of range")
        try:
            return _EPOCH + timedelta(seconds=timestamp)
        except OverflowError as error:  # rounded up past year 9999
            where = _where(index, "timestamp")
            raise Rejected("bad_timestamp", where, "is out of range") from error
    if not isinstance(timestamp, str):
        raise Rejected("wrong_type", _where(index, "timestamp"), "must be a number or a string")
    try:
        parsed = parse_timestamp(timestamp).replace(tzinfo=None)
    except InvalidArgument as error:
        raise Rejected("bad_timestamp", _where(index, "timestamp"), error.reason) from error
    if parsed < _FIRST:
        raise Rejected("bad_timestamp", _where(index, "timestamp"), "is out of range")
    return parsed


def _where(index: int | None, field: str | None) -> str:
    if index is None:
        return f"field {field}" if field else "body"
    return f"element {index} field {field}" if field else f"element {index}"
