"""Unit tests of the masking filter, the scrubbing of plain text and the console format."""

from __future__ import annotations

import io
import logging
import sys

import colorama
import pytest

from my_monit.logging.console import ColourFormatter, console_handler
from my_monit.logging.facets import MASK
from my_monit.logging.masking import MaskingFilter, scrub, scrub_values
from my_monit.model import Role, User

USER = User("S1", "Marie Curie", "uid-curie", "marie@example.org", Role.SCIENTIST)
SECRETS = ("Marie Curie", "uid-curie", "marie@example.org")


class UserError(Exception):
    """An exception that renders the user it carries only when printed, as some do."""

    def __init__(self, user: User) -> None:
        super().__init__()
        self.user = user

    def __str__(self) -> str:
        return f"cannot store {self.user}"


def _record(msg: object, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("test", logging.ERROR, __file__, 7, msg, args or None, exc_info)


def _exc_info(error: BaseException):
    try:
        raise error
    except BaseException:  # pylint: disable=broad-exception-caught  # captured for a record
        return sys.exc_info()


def _leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_filter_renders_model_objects_masked_and_freezes_the_message():
    record = _record("stored %s", USER)
    assert MaskingFilter().filter(record) is True
    assert record.args is None
    assert "S1" in record.msg and _leaked(record.msg) == []
    # Rendering again later, outside any logging context, cannot reveal the values.
    assert _leaked(record.getMessage()) == []


def test_filter_renders_an_exception_that_formats_lazily_inside_the_context():
    record = _record("failed", exc_info=_exc_info(UserError(USER)))
    MaskingFilter().filter(record)
    assert "cannot store User(user_id='S1'" in record.exc_text
    assert _leaked(record.exc_text) == []


def test_filter_scrubs_values_that_arrive_as_plain_text():
    error = ValueError("1062 (23000): Duplicate entry 'uid-curie' for key 'username'")
    record = _record("mail to %s failed", "marie@example.org", exc_info=_exc_info(error))
    MaskingFilter().filter(record)
    assert record.msg == f"mail to {MASK} failed"
    assert "Duplicate entry '***' for key 'username'" in record.exc_text
    assert _leaked(record.msg + record.exc_text) == []


def test_filter_keeps_a_message_whose_arguments_do_not_fit_without_raising():
    record = _record("%s and %s", "only one")
    assert MaskingFilter().filter(record) is True
    assert record.msg == "%s and %s (arguments did not fit the message)"


def test_filter_runs_once_per_record_even_with_many_handlers():
    record = _record("stored %s", USER)
    MaskingFilter().filter(record)
    record.msg = "already rendered %s"
    MaskingFilter().filter(record)
    assert record.msg == "already rendered %s"


def test_filter_scrubs_stack_info():
    record = _record("here")
    record.stack_info = "Stack (most recent call last):\n  mailto marie@example.org"
    MaskingFilter().filter(record)
    assert _leaked(record.stack_info) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to marie@example.org.", f"to {MASK}."),
        ("amqp://guest:s3cret@rabbit:5672/%2F", f"amqp://{MASK}@rabbit:5672/%2F"),
        ("Duplicate entry 'a\\'b' for key 'email'", f"Duplicate entry '{MASK}' for key 'email'"),
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {MASK}"),
        ("token eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl end", f"token {MASK} end"),
        ("GET /users/S123 200 in 4 ms", "GET /users/S123 200 in 4 ms"),
    ],
)
def test_scrub_masks_personal_data_and_secrets_in_plain_text(text, expected):
    assert scrub(text) == expected


def test_scrub_values_walks_nested_fields_and_keeps_other_types():
    event = {"url": {"path": "/users/marie@example.org"}, "n": 3, "tags": ("a@b.org", None)}
    assert scrub_values(event) == {"url": {"path": f"/users/{MASK}"}, "n": 3, "tags": [MASK, None]}


def test_console_writes_one_line_per_record_with_the_traceback_escaped():
    stream = io.StringIO()
    logger = logging.getLogger("test.console.lines")
    logger.propagate = False
    logger.addHandler(console_handler(stream))
    try:
        raise UserError(USER)
    except UserError:
        logger.exception("failed for %s\nforged line", USER)
    finally:
        logger.handlers.clear()
    output = stream.getvalue()
    assert output.count("\n") == 1 and output.endswith("\n")
    assert "ERROR" in output and "\\nTraceback (most recent call last):\\n" in output
    assert "\\nforged line" in output and _leaked(output) == []


def test_console_colours_by_level_only_on_a_terminal():
    record = _record("boom")
    plain = ColourFormatter(colour=False).format(record)
    coloured = ColourFormatter(colour=True).format(record)
    assert colorama.Fore.RED not in plain
    assert coloured == f"{colorama.Fore.RED}{plain}{colorama.Style.RESET_ALL}"


def test_console_handler_colours_when_its_stream_is_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    handler = console_handler(terminal)
    handler.handle(_record("warned"))
    assert terminal.getvalue().startswith(colorama.Fore.RED)
    file = io.StringIO()
    console_handler(file).handle(_record("warned"))
    assert "\x1b[" not in file.getvalue()


def test_console_handler_on_standard_error_colours_when_it_is_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    console_handler(None).handle(_record("warned"))
    assert terminal.getvalue().startswith(colorama.Fore.RED)
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    console_handler(None).handle(_record("warned"))
    assert "\x1b[" not in piped.getvalue()


def test_arguments_are_not_rendered_when_the_level_is_disabled():
    class Counting:
        renders = 0

        def __str__(self) -> str:
            Counting.renders += 1
            return "counted"

    stream = io.StringIO()
    logger = logging.getLogger("test.console.lazy")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(console_handler(stream))
    try:
        logger.debug("value %s", Counting())
        assert Counting.renders == 0 and stream.getvalue() == ""
        logger.info("value %s", Counting())
    finally:
        logger.handlers.clear()
    assert Counting.renders == 1 and "value counted" in stream.getvalue()
