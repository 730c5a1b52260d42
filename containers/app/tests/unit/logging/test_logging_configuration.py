"""Unit tests of configure_logging: what it installs, replaces and keeps."""

from __future__ import annotations

import io
import logging
import time

import pytest

from my_monit.config import Config, ConfigurationError
from my_monit.logging.audit import AUDIT_LOGGER, AuditEvent, AuditLog
from my_monit.logging.configuration import configure_logging, flush_logging
from my_monit.logging.console import ConsoleHandler
from my_monit.logging.logstash import LogstashConfiguration, LogstashHandler


@pytest.fixture(autouse=True, name="root")
def fixture_root():
    """Give the root logger back as it was (pytest's own handlers included)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    audit_level = logging.getLogger(AUDIT_LOGGER).level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.getLogger(AUDIT_LOGGER).setLevel(audit_level)
    logging.captureWarnings(False)


def _config(**environ: str) -> Config:
    return Config.from_env({"LOGSTASH_HOST": "", **environ})


def _ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if isinstance(h, (ConsoleHandler, LogstashHandler))]


def test_installs_a_console_and_a_logstash_handler(root):
    configure_logging(_config(LOGSTASH_HOST="logstash", LOGSTASH_PORT="5960"))
    console, logstash = _ours(root)
    assert isinstance(console, ConsoleHandler) and isinstance(logstash, LogstashHandler)
    assert (logstash.configuration.host, logstash.configuration.port) == ("logstash", 5960)
    assert root.level == logging.INFO


def test_an_empty_logstash_host_leaves_the_console_only(root):
    configure_logging(_config())
    assert [type(h) for h in _ours(root)] == [ConsoleHandler]


def test_running_it_again_replaces_its_handlers_and_keeps_others(root):
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    configure_logging(_config(LOGSTASH_HOST="logstash"))
    first = _ours(root)
    configure_logging(_config(LOGSTASH_HOST="logstash"))
    second = _ours(root)
    assert len(second) == 2 and not set(first) & set(second)
    assert foreign in root.handlers
    root.removeHandler(foreign)


def test_audit_events_pass_even_when_the_level_hides_info(root):
    stream = io.StringIO()
    configure_logging(_config(LOG_LEVEL="WARNING"), stream=stream)
    captured: list[logging.LogRecord] = []
    sink = logging.Handler()
    sink.emit = captured.append  # type: ignore[method-assign]
    root.addHandler(sink)
    logging.getLogger("my_monit.rest").info("hidden")
    AuditLog().record(AuditEvent("users.me", "success", "rest", "r1", actor_id="S1"))
    root.removeHandler(sink)
    assert [record.name for record in captured] == [AUDIT_LOGGER]
    # The console shows LOG_LEVEL and up only.
    assert stream.getvalue() == ""


def test_console_lines_go_to_the_given_stream_at_the_given_level(root):
    stream = io.StringIO()
    configure_logging(_config(LOG_LEVEL="DEBUG"), stream=stream)
    logging.getLogger("my_monit.test").debug("value %d", 42)
    assert "DEBUG" in stream.getvalue() and "my_monit.test: value 42" in stream.getvalue()


def test_an_unknown_level_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="LOG_LEVEL"):
        configure_logging(_config(LOG_LEVEL="CHATTY"))


class _SlowConnection:
    """A Logstash that takes its time over each send, and then keeps what it got."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[bytes] = []

    def send(self, data: bytes) -> None:
        time.sleep(self.delay)
        self.received.append(data)

    def closed_by_peer(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release."""


def _refused(_: LogstashConfiguration) -> _SlowConnection:
    raise ConnectionRefusedError("nothing listens")


def test_flush_logging_waits_for_a_slow_logstash_to_take_every_event(root):
    connection = _SlowConnection(delay=1.5)
    handler = LogstashHandler(LogstashConfiguration("logstash"), lambda _: connection)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    AuditLog().record(AuditEvent(action="user.create_admin", outcome="success", source="cli",
                                 request_id="r1"))

    assert flush_logging(5.0) is True
    assert b"user.create_admin" in b"".join(connection.received)


def test_flush_logging_gives_up_in_time_when_logstash_is_away(root):
    handler = LogstashHandler(LogstashConfiguration("logstash", initial_backoff=0.05), _refused)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("my_monit.test").info("an event nobody will take")

    started = time.monotonic()
    assert flush_logging(0.5) is False
    assert time.monotonic() - started < 1.5


def test_flush_logging_without_logstash_returns_at_once(root):
    configure_logging(_config())
    logging.getLogger("my_monit.test").warning("console only")

    started = time.monotonic()
    assert flush_logging(5.0) is True
    assert time.monotonic() - started < 0.5
