"""Masking: render each log record inside a logging context, and scrub what facets miss.

Facets mask model objects, but only while a message is rendered inside a logging
context. ``MaskingFilter`` renders the message and the exception text of a record in the
thread that logs, inside that context, before any handler or queue sees it. ``scrub``
then removes the personal data and secrets that arrive as plain text, where no facet can
help: an email address, the duplicated value that MariaDB repeats in a unique-key error,
credentials in a URL, a bearer token or a JSON Web Token.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from my_monit.logging.facets import MASK, is_logging

# The attribute that marks a record as rendered, so a second handler does not redo it.
MASKED_ATTRIBUTE = "mymonit_masked"

_EMAIL = re.compile(r"[^\s@'\"<>()\[\]{},;:/\\]+@[^\s@'\"<>()\[\]{},;:/\\]+\.[A-Za-z]{2,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_DUPLICATE_ENTRY = re.compile(r"(Duplicate entry )'(?:[^'\\]|\\.)*'")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_PLAIN = logging.Formatter()


def scrub(text: str) -> str:
    """Mask emails, duplicated key values, URL credentials and tokens in ``text``."""
    # Cheap substring tests first: almost every line has none of these.
    if "@" in text:
        text = _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)
        text = _EMAIL.sub(MASK, text)
    if "Duplicate entry" in text:
        text = _DUPLICATE_ENTRY.sub(rf"\1'{MASK}'", text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    if "earer" in text:
        text = _BEARER.sub(rf"\1{MASK}", text)
    return text


def scrub_values(value: Any) -> Any:
    """Scrub every string inside nested dicts, lists and tuples (an event's fields)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_values(item) for item in value]
    return value


@is_logging
def render_exception(record: logging.LogRecord) -> str:
    """Give the record's traceback text, rendered in a logging context and scrubbed."""
    if not record.exc_text and record.exc_info:
        record.exc_text = scrub(_PLAIN.formatException(record.exc_info))
    return record.exc_text or ""


class MaskingFilter(logging.Filter):
    """Render each record's message and traceback inside a logging context, then scrub them.

    Runs in the thread that logs, before any handler (or queue) sees the record, and
    freezes the message, so that no later formatting can reveal the real values. A
    message whose arguments do not fit its format is kept, without them, rather than
    raising into the caller.
    """

    @is_logging
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, MASKED_ATTRIBUTE, False):
            return True
        try:
            message = record.getMessage()
        # A log call must never raise into its caller, whatever an argument's __str__ does.
        except Exception:  # pylint: disable=broad-exception-caught
            message = f"{record.msg} (arguments did not fit the message)"
        record.msg = scrub(message)
        record.args = None
        render_exception(record)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        setattr(record, MASKED_ATTRIBUTE, True)
        return True
