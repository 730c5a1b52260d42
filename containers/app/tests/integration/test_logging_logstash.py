"""Integration tests of the Logstash sink over real TCP sockets on loopback.

A listener stands for Logstash. The tests check that events arrive as JSON with their
schema, one audit event per call of a Flask app, and that a Logstash that is absent, or
accepts but never reads, slows neither logging nor calls: each run is timed against a
baseline measured in the same test with a healthy listener.
"""

from __future__ import annotations

import logging
import re
import multiprocessing
import time
import uuid
from typing import Iterator

import pytest
from flask import Flask, g, request
from support.logstash_listener import (
    LogstashListener,
    StalledListener,
    field,
    find_leaks,
    free_port,
)

from my_monit.config import Config
from my_monit.logging.audit import AUDIT_LOGGER, AuditEvent, AuditLog
from my_monit.logging.configuration import configure_logging
from my_monit.logging.logstash import LogstashConfiguration, LogstashHandler
from my_monit.model import Role, User

pytestmark = pytest.mark.integration

EVENTS = 10_000
CALLS = 200
USER = User("S42", "Ada Lovelace", "uid-lovelace-42", "ada@example.org", Role.SCIENTIST)
SECRETS = [USER.name or "", USER.username or "", USER.email or ""]


def _dropped(report: logging.LogRecord) -> int:
    """Read the count of a drop report (its arguments are gone once a handler rendered it)."""
    match = re.search(r"dropped (\d+) events", report.getMessage())
    assert match, report.getMessage()
    return int(match.group(1))


@pytest.fixture(name="root")
def fixture_root() -> Iterator[logging.Logger]:
    """Hand the root and audit loggers back as they were, closing what a test added."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    audit = logging.getLogger(AUDIT_LOGGER)
    audit_level = audit.level
    root.setLevel(logging.INFO)
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    audit.setLevel(audit_level)
    logging.captureWarnings(False)


def _handler(port: int, **overrides: float) -> LogstashHandler:
    settings = {"queue_size": 1000, "send_timeout": 0.5, "connect_timeout": 0.5,
                "initial_backoff": 0.05, "max_backoff": 0.2, "report_interval": 0.2,
                "close_timeout": 0.5, **overrides}
    return LogstashHandler(LogstashConfiguration("127.0.0.1", port, **settings))


def _app() -> Flask:
    """A Flask app that audits each call, as MyMONIT's REST resources do."""
    app = Flask("audited")
    audit = AuditLog()

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter_ns()
        g.request_id = request.headers.get("X-Request-ID", uuid.uuid4().hex)

    @app.get("/users/<user_id>")
    def get_user(user_id: str):
        logging.getLogger("my_monit.rest").info("read %s", USER)
        status = 200 if user_id == USER.user_id else 403
        audit.record(AuditEvent(
            "users.get", "success" if status == 200 else "failure", "rest", g.request_id,
            actor_id=USER.user_id, object_type="user", object_id=user_id, method="GET",
            path=request.path, route="/users/{user_id}", status_code=status,
            duration_ns=time.perf_counter_ns() - g.started,
        ))
        return {"user_id": user_id}, status

    return app


def _workload(calls: int = CALLS) -> float:
    """Log EVENTS records and make ``calls`` audited calls; give the seconds it took."""
    log = logging.getLogger("my_monit.workload")
    client = _app().test_client()
    started = time.perf_counter()
    for number in range(EVENTS):
        log.info("event %d of %s", number, USER)
    for number in range(calls):
        assert client.get(f"/users/S{42 + number % 2}").status_code in (200, 403)
    return time.perf_counter() - started


def _baseline(root: logging.Logger) -> float:
    with LogstashListener() as listener:
        handler = _handler(listener.port, queue_size=EVENTS + 3 * CALLS)
        root.addHandler(handler)
        elapsed = _workload()
        assert handler.flush(20), "the healthy listener did not get every event"
        root.removeHandler(handler)
        handler.close()
    return elapsed


@pytest.mark.usefixtures("root")
def test_configured_logging_sends_app_and_audit_events_as_json():
    with LogstashListener() as listener:
        environ = {"LOGSTASH_HOST": "127.0.0.1", "LOGSTASH_PORT": str(listener.port)}
        configure_logging(Config.from_env(environ))
        client = _app().test_client()
        request_ids = [f"req-{n}" for n in range(20)]
        for request_id in request_ids:
            client.get("/users/S43", headers={"X-Request-ID": request_id})
        audits = listener.wait_for(lambda e: field(e, "event.dataset") == "mymonit.audit", 20)
        apps = listener.wait_for(lambda e: field(e, "log.logger") == "my_monit.rest", 20)

    # One audit event per call, each with the call's request id and the contract's fields.
    assert [field(e, "mymonit.request_id") for e in audits] == request_ids
    for event in audits:
        assert field(event, "event.action") == "users.get"
        assert field(event, "event.outcome") == "failure"
        assert field(event, "event.type") == ["access", "denied"]
        assert field(event, "user.id") == "S42"
        assert field(event, "http.request.method") == "GET"
        assert field(event, "http.response.status_code") == 403
        assert field(event, "url.path") == "/users/S43"
        assert isinstance(field(event, "event.duration"), int)
        assert field(event, "@timestamp").endswith("Z") and field(event, "@version") == "1"
    assert all(field(e, "event.dataset") == "mymonit.app" for e in apps)
    assert find_leaks(listener.texts(), SECRETS) == []


def test_nothing_listening_slows_neither_logging_nor_calls_and_drops_are_reported(root, caplog):
    baseline = _baseline(root)
    handler = _handler(free_port())
    root.addHandler(handler)
    with caplog.at_level(logging.WARNING, logger="my_monit.logging.logstash"):
        elapsed = _workload()
        time.sleep(0.5)
        root.removeHandler(handler)
        handler.close()

    assert elapsed < 2 * baseline + 1.0, f"{elapsed:.2f} s against a baseline of {baseline:.2f} s"
    assert handler.dropped >= EVENTS + 2 * CALLS - 1000 - 5
    reports = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert reports and sum(_dropped(r) for r in reports) == handler.dropped
    assert any("cannot send events to Logstash" in r.getMessage() for r in caplog.records)


def test_a_listener_that_never_reads_slows_neither_logging_nor_calls(root, caplog):
    baseline = _baseline(root)
    with StalledListener() as stalled:
        handler = _handler(stalled.port)
        root.addHandler(handler)
        with caplog.at_level(logging.WARNING, logger="my_monit.logging.logstash"):
            elapsed = _workload()
            # The send timeout frees the sender, which then tries a new connection. Keep
            # logging until it does: under load, so much of the workload is dropped that
            # what was sent can still fit in the sockets' buffers.
            filler = logging.getLogger("my_monit.filler")
            deadline = time.monotonic() + 10
            while stalled.connections < 2 and time.monotonic() < deadline:
                for _ in range(50):
                    filler.warning("filling the socket buffers %s", "x" * 2000)
                time.sleep(0.05)
            root.removeHandler(handler)
            started = time.perf_counter()
            handler.close()
            closing = time.perf_counter() - started

    assert elapsed < 2 * baseline + 1.0, f"{elapsed:.2f} s against a baseline of {baseline:.2f} s"
    assert stalled.connections >= 2
    assert closing < 1.5
    assert handler.dropped > 0
    reports = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert reports and reports[0].levelno == logging.WARNING


def test_events_flow_again_when_logstash_comes_back_on_the_same_port(root):
    first = LogstashListener().start()
    port = first.port
    handler = _handler(port)
    root.addHandler(handler)
    log = logging.getLogger("my_monit.restart")
    log.warning("before the restart")
    first.wait_for(lambda e: e.get("message") == "before the restart")
    first.stop()

    # Logstash is away for a while, then listens again on the same port.
    log.warning("while away")
    time.sleep(0.3)
    with LogstashListener(port=port) as second:
        for _ in range(3):
            log.warning("after the restart")
            time.sleep(0.1)
        arrived = second.wait_for(lambda e: e.get("message") == "after the restart", timeout=10)
    root.removeHandler(handler)
    handler.close()
    assert arrived


def _log_from_child(port: int, results: multiprocessing.Queue) -> None:
    # The handler was made by the parent; the child logs through it after the fork.
    logging.getLogger("my_monit.child").warning("from the child")
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, LogstashHandler))
    results.put((handler.flush(10), port))


def test_a_forked_worker_sends_its_events_with_a_sender_of_its_own(root):
    with LogstashListener() as listener:
        handler = _handler(listener.port)
        root.addHandler(handler)
        logging.getLogger("my_monit.parent").warning("from the parent")
        listener.wait_for(lambda e: e.get("message") == "from the parent")

        context = multiprocessing.get_context("fork")
        results: multiprocessing.Queue = context.Queue()
        child = context.Process(target=_log_from_child, args=(listener.port, results))
        child.start()
        flushed, _ = results.get(timeout=15)
        child.join(15)
        (event,) = listener.wait_for(lambda e: e.get("message") == "from the child")
        root.removeHandler(handler)
        handler.close()

    assert flushed and child.exitcode == 0
    assert field(event, "process.pid") == child.pid != field(
        listener.events()[0], "process.pid"
    )
