"""Unit tests of the Logstash handler's queue, sender and drop count, with fake connections."""

from __future__ import annotations

import json
import logging
import re
import os
import threading
import time

import pytest

from my_monit.logging.logstash import (
    LogstashConfiguration,
    LogstashHandler,
    LogstashSender,
)


def _dropped(report: logging.LogRecord) -> int:
    """Read the count of a drop report (its arguments are gone once a handler rendered it)."""
    match = re.search(r"dropped (\d+) events", report.getMessage())
    assert match, report.getMessage()
    return int(match.group(1))


class Recorder:
    """Stands for Logstash: remembers each connection and the bytes sent on it."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.refuse = threading.Event()
        self.block = threading.Event()

    def connect(self, _: LogstashConfiguration) -> FakeConnection:
        if self.refuse.is_set():
            raise ConnectionRefusedError(111, "Connection refused")
        connection = FakeConnection(self)
        self.connections.append(connection)
        return connection

    def lines(self) -> list[dict]:
        data = b"".join(chunk for c in self.connections for chunk in c.sent)
        return [json.loads(line) for line in data.splitlines()]


class FakeConnection:
    """A connection whose sends succeed, block until the timeout, or find the peer gone."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self.sent: list[bytes] = []
        self.peer_closed = False
        self.closed = False

    def send(self, data: bytes) -> None:
        if self._recorder.block.is_set():
            time.sleep(0.05)  # the send timeout of a Logstash that does not read
            raise TimeoutError("timed out")
        self.sent.append(data)

    def closed_by_peer(self) -> bool:
        return self.peer_closed

    def close(self) -> None:
        self.closed = True


def _configuration(**overrides) -> LogstashConfiguration:
    values = {
        "host": "logstash.invalid",
        "queue_size": 100,
        "initial_backoff": 0.01,
        "max_backoff": 0.02,
        "report_interval": 0.05,
        "close_timeout": 0.5,
    }
    return LogstashConfiguration(**{**values, **overrides})


def _record(message: str = "event %d", number: int = 0) -> logging.LogRecord:
    return logging.LogRecord("test.app", logging.INFO, __file__, 1, message, (number,), None)


@pytest.fixture(name="recorder")
def fixture_recorder() -> Recorder:
    return Recorder()


@pytest.fixture(name="handler")
def fixture_handler(recorder):
    handler = LogstashHandler(_configuration(), connector=recorder.connect)
    yield handler
    handler.close()


def _wait(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_events_are_sent_as_json_lines_in_order(handler, recorder):
    for number in range(50):
        handler.handle(_record(number=number))
    assert handler.flush(5)
    assert [event["message"] for event in recorder.lines()] == [f"event {n}" for n in range(50)]
    assert handler.counts.sent == 50 and handler.dropped == 0


def test_events_arriving_one_by_one_share_a_write_after_the_linger(recorder):
    handler = LogstashHandler(_configuration(linger=0.2), connector=recorder.connect)
    try:
        for number in range(10):
            handler.handle(_record(number=number))
            time.sleep(0.005)  # one by one, as requests end: each would wake the sender
        assert handler.flush(5)
    finally:
        handler.close()
    writes = [chunk for connection in recorder.connections for chunk in connection.sent]
    assert len(writes) == 1 and writes[0].count(b"\n") == 10


def test_a_backlog_goes_out_batch_after_batch_without_lingering(recorder):
    # Batches of about two lines, and a linger that would take 25 s over 100 batches.
    handler = LogstashHandler(
        _configuration(linger=0.25, batch_bytes=600, queue_size=1000), connector=recorder.connect
    )
    try:
        started = time.monotonic()
        for number in range(200):
            handler.handle(_record(number=number))
        assert handler.flush(10)
        elapsed = time.monotonic() - started
    finally:
        handler.close()
    writes = [chunk for connection in recorder.connections for chunk in connection.sent]
    assert len(writes) >= 50 and sum(write.count(b"\n") for write in writes) == 200
    assert elapsed < 3.0  # one linger at most, for the first batch


def test_without_linger_the_sender_writes_as_soon_as_an_event_comes(recorder):
    handler = LogstashHandler(_configuration(linger=0.0), connector=recorder.connect)
    try:
        for number in range(3):
            handler.handle(_record(number=number))
            assert handler.flush(5)
    finally:
        handler.close()
    writes = [chunk for connection in recorder.connections for chunk in connection.sent]
    assert len(writes) == 3


def test_a_full_queue_drops_and_counts_without_waiting(recorder, caplog):
    recorder.refuse.set()
    # Batches of one line: the batch the sender holds while Logstash refuses it is then
    # one line, however fast lines arrive while it drains the queue into a batch.
    handler = LogstashHandler(
        _configuration(queue_size=100, batch_bytes=1), connector=recorder.connect
    )
    started = time.perf_counter()
    for number in range(5000):
        handler.handle(_record(number=number))
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    # Every event was queued or refused; the queue holds 100, and the sender one line.
    assert handler.counts.queued + handler.counts.refused == 5000
    assert handler.counts.queued <= 101 and handler.dropped == handler.counts.refused
    with caplog.at_level(logging.WARNING, logger="my_monit.logging.logstash"):
        # Reported while Logstash is still away, not only once it is back.
        assert _wait(lambda: any("dropped" in r.getMessage() for r in caplog.records))
        handler.close()
    reports = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert all(report.levelno == logging.WARNING for report in reports)
    assert sum(_dropped(report) for report in reports) == handler.dropped
    assert reports[-1].getMessage().endswith(f"({handler.dropped} in total)")


def test_events_queued_while_logstash_was_away_are_sent_when_it_is_back(handler, recorder):
    recorder.refuse.set()
    for number in range(20):
        handler.handle(_record(number=number))
    time.sleep(0.1)
    assert recorder.lines() == []
    recorder.refuse.clear()
    assert handler.flush(5)
    messages = [event["message"] for event in recorder.lines()]
    assert messages[:20] == [f"event {n}" for n in range(20)] and handler.dropped == 0


def test_a_send_timeout_drops_the_connection_and_retries_on_a_new_one(handler, recorder):
    recorder.block.set()
    handler.handle(_record(number=1))
    assert _wait(lambda: len(recorder.connections) >= 2)
    assert recorder.connections[0].closed
    recorder.block.clear()
    assert handler.flush(5)
    assert [event["message"] for event in recorder.lines()] == ["event 1"]


def test_a_connection_closed_by_logstash_is_replaced_before_sending(handler, recorder):
    handler.handle(_record(number=1))
    assert handler.flush(5)
    recorder.connections[0].peer_closed = True
    handler.handle(_record(number=2))
    assert handler.flush(5)
    assert len(recorder.connections) == 2 and recorder.connections[0].closed
    assert recorder.connections[1].sent and b"event 2" in recorder.connections[1].sent[0]


def test_back_off_doubles_up_to_its_cap(recorder):
    sender = LogstashSender(
        _configuration(initial_backoff=0.5, max_backoff=3.0), recorder.connect
    )
    delays = []
    for failures in range(1, 7):
        sender._failures = failures  # pylint: disable=protected-access  # the state under test
        delays.append(sender._backoff())  # pylint: disable=protected-access
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_close_gives_up_on_an_absent_logstash_quickly_and_counts_the_loss(recorder):
    recorder.refuse.set()
    handler = LogstashHandler(_configuration(close_timeout=0.2), connector=recorder.connect)
    for number in range(10):
        handler.handle(_record(number=number))
    started = time.perf_counter()
    handler.close()
    assert time.perf_counter() - started < 1.0
    assert handler.dropped == 10 and handler.counts.pending == 0


def test_events_after_close_are_counted_as_dropped(handler):
    handler.close()
    handler.handle(_record())
    assert handler.dropped == 1


def test_flush_reports_events_still_pending(recorder):
    recorder.refuse.set()
    handler = LogstashHandler(_configuration(), connector=recorder.connect)
    handler.handle(_record())
    assert handler.flush(0.05) is False
    handler.close()


def test_an_unformattable_record_is_reported_not_raised(handler, monkeypatch):
    reported = []
    monkeypatch.setattr(handler, "handleError", reported.append)

    class Broken(logging.Formatter):
        """A formatter with a bug."""

        def format(self, record):
            raise RuntimeError("formatter bug")

    handler.setFormatter(Broken())
    record = _record()
    handler.handle(record)
    assert reported == [record] and handler.counts.queued == 0


def test_a_forked_child_starts_a_sender_of_its_own(handler, recorder, monkeypatch):
    handler.handle(_record(number=1))
    assert handler.flush(5)
    parent_counts = handler.counts
    monkeypatch.setattr(os, "getpid", lambda: -1)
    handler.handle(_record(number=2))
    assert handler.counts is not parent_counts
    assert handler.flush(5) and handler.counts.sent == 1
    assert recorder.lines()[-1]["message"] == "event 2" and len(recorder.connections) == 2
    handler.close()


def test_emitting_never_raises_into_the_caller_when_the_connector_fails(recorder):
    def broken(_: LogstashConfiguration):
        raise OSError("no route to host")

    handler = LogstashHandler(_configuration(), connector=broken)
    handler.handle(_record())
    handler.close()
    assert handler.dropped == 1 and not recorder.connections
