"""Unit tests of mymonit-stdin: lines, following a pipe, and the command itself."""

from __future__ import annotations

import io
import os
import threading

import pytest

from mymonit_adapters import stdin as stdin_module
from mymonit_adapters.publisher import AdapterError, InvalidReading
from mymonit_adapters.stdin import main, parse_line, read_lines


def test_value_only_line_is_taken_now():
    document = parse_line("21.5\n", "exp", "degree Celsius")
    assert document["value"] == 21.5 and document["measure"] == "degree Celsius"
    assert isinstance(document["timestamp"], float)


def test_timestamp_and_value_line():
    assert parse_line("2022-04-06T07:00:00Z 3", "exp", "hertz")["timestamp"] == (
        "2022-04-06T07:00:00Z")
    assert parse_line("1650000000\t4.5", "exp", "hertz")["value"] == 4.5


@pytest.mark.parametrize("line", ["", "   ", "# a comment"])
def test_blank_and_comment_lines_are_skipped(line):
    assert parse_line(line, "e", "m") is None


@pytest.mark.parametrize("line", ["abc", "1 2 3", "yesterday 4"])
def test_bad_lines_are_invalid(line):
    with pytest.raises(InvalidReading):
        parse_line(line, "e", "m")


def test_lines_are_read_as_they_arrive_and_idle_time_is_used():
    read_end, write_end = os.pipe()
    idles = []

    def write_slowly():
        os.write(write_end, b"1\n2")
        threading.Event().wait(1.3)
        os.write(write_end, b"\n3")
        os.close(write_end)

    threading.Thread(target=write_slowly).start()
    with os.fdopen(read_end, "rb") as stream:
        lines = list(read_lines(stream, lambda: idles.append(1)))
    assert lines == ["1", "2", "3"] and idles


class FakePublisher:
    """Records published documents; can fail."""

    published: list = []
    fail_after: int | None = None

    def __init__(self, settings, app_id) -> None:
        self.settings = settings

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return None

    def publish(self, document, message_id=None):
        if FakePublisher.fail_after is not None and len(self.published) >= self.fail_after:
            raise AdapterError("RabbitMQ unavailable")
        FakePublisher.published.append(document)
        return "id"

    def keep_alive(self) -> None:
        return None


@pytest.fixture(name="fake")
def fixture_fake(monkeypatch):
    FakePublisher.published = []
    FakePublisher.fail_after = None
    monkeypatch.setattr(stdin_module, "MeasurePublisher", FakePublisher)
    return FakePublisher


def _stdin(monkeypatch, text: bytes) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, text)
    os.close(write_end)
    monkeypatch.setattr(stdin_module.sys, "stdin",
                        io.TextIOWrapper(os.fdopen(read_end, "rb")))


def test_command_publishes_every_good_line_and_skips_bad_ones(monkeypatch, fake, caplog):
    _stdin(monkeypatch, b"1\n# note\nsecret-looking garbage\n1650000000 2\n")
    assert main(["--experiment", "e", "--measure", "hertz"]) == 0
    assert [d["value"] for d in fake.published] == [1.0, 2.0]
    assert "line 3 skipped" in caplog.text and "garbage" not in caplog.text


def test_command_exits_1_when_the_broker_fails(monkeypatch, fake):
    fake.fail_after = 1
    _stdin(monkeypatch, b"1\n2\n3\n")
    assert main(["--experiment", "e", "--measure", "hertz"]) == 1
    assert len(fake.published) == 1
