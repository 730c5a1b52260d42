"""Unit tests of audit events, their ECS fields and the Logstash event format."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from my_monit.logging.audit import AUDIT_LOGGER, AuditEvent, AuditLog
from my_monit.logging.logstash import LogstashFormatter
from my_monit.logging.masking import MaskingFilter
from my_monit.model import Role, User

USER = User("S1", "Marie Curie", "uid-curie", "marie@example.org", Role.SCIENTIST)

REST_CALL = AuditEvent(
    "measures.list",
    "success",
    "rest",
    "req-1",
    actor_id="S123",
    object_type="experiment",
    object_id="3",
    method="GET",
    path="/measures/3",
    route="/measures/{experiment_id}",
    status_code=200,
    duration_ns=4_210_000,
)
DENIAL = AuditEvent(
    "experiments.get", "failure", "rest", "req-2", actor_id="S123", method="GET",
    path="/experiments/7", status_code=403,
)
ADMIN_CHANGE = AuditEvent(
    "users.update", "success", "rest", "req-3", actor_id="A001", object_type="user",
    object_id="S123", method="PUT", path="/users/S123", status_code=200,
    changes=("email", "role"),
)
BATCH = AuditEvent(
    "measures.consume", "success", "amqp", "batch-1", object_type="measures",
    stored=998, dead_lettered=2, reasons=("unknown experiment",), duration_ns=35_400_000,
)


def _format(record: logging.LogRecord) -> dict:
    MaskingFilter().filter(record)
    return json.loads(LogstashFormatter().format(record))


def _audit_record(event: AuditEvent) -> logging.LogRecord:
    record = logging.LogRecord(AUDIT_LOGGER, logging.INFO, __file__, 1, "audit %s", (1,), None)
    record.ecs = event.to_ecs()
    return record


def test_a_rest_call_has_the_contract_ecs_fields():
    ecs = REST_CALL.to_ecs()
    assert ecs["event"]["action"] == "measures.list" and ecs["event"]["outcome"] == "success"
    assert ecs["event"]["type"] == ["access"] and ecs["event"]["duration"] == 4_210_000
    assert ecs["user"] == {"id": "S123"}
    assert ecs["http"] == {
        "request": {"method": "GET", "id": "req-1"},
        "response": {"status_code": 200},
    }
    assert ecs["url"] == {"path": "/measures/3"}
    assert ecs["mymonit"] == {
        "source": "rest",
        "request_id": "req-1",
        "route": "/measures/{experiment_id}",
        "object": {"type": "experiment", "id": "3"},
    }


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_is_typed_denied_even_when_the_caller_forgets(status):
    event = AuditEvent("users.list", "failure", "rest", "r", method="GET", status_code=status)
    assert event.to_ecs()["event"]["type"] == ["access", "denied"]
    explicit = AuditEvent("x", "failure", "rest", "r", event_types=("denied",), status_code=403)
    assert explicit.to_ecs()["event"]["type"] == ["denied"]


def test_a_denial_without_a_known_user_has_no_user_field():
    event = AuditEvent("users.me", "failure", "rest", "r", method="GET", status_code=401)
    assert "user" not in event.to_ecs()


@pytest.mark.parametrize(
    ("method", "expected"),
    [("GET", "access"), ("POST", "creation"), ("PUT", "change"), ("DELETE", "deletion")],
)
def test_the_event_type_follows_the_method(method, expected):
    event = AuditEvent("a", "success", "rest", "r", method=method, status_code=200)
    assert event.to_ecs()["event"]["type"] == [expected]


def test_an_admin_change_names_the_fields_not_their_values():
    ecs = ADMIN_CHANGE.to_ecs()
    assert ecs["mymonit"]["changes"] == ["email", "role"]
    assert ecs["mymonit"]["object"] == {"type": "user", "id": "S123"}
    assert ecs["event"]["type"] == ["change"]


def test_a_consumed_batch_has_its_counts_and_reasons():
    ecs = BATCH.to_ecs()
    assert ecs["mymonit"]["batch"] == {
        "stored": 998,
        "dead_lettered": 2,
        "reasons": ["unknown experiment"],
    }
    assert ecs["event"]["category"] == ["database"] and ecs["event"]["type"] == ["creation"]
    assert "http" not in ecs and "user" not in ecs and "url" not in ecs


def test_batch_counts_given_in_details_are_promoted_to_the_batch_fields():
    event = AuditEvent(
        "measures.consume", "success", "amqp", "b",
        details={"stored": 5, "dead_lettered": 1, "reasons": "not JSON", "queue": "measures"},
    )
    mymonit = event.to_ecs()["mymonit"]
    assert mymonit["batch"] == {"stored": 5, "dead_lettered": 1, "reasons": ["not JSON"]}
    assert mymonit["details"] == {"queue": "measures"}


def test_the_constructor_keeps_its_positional_order():
    event = AuditEvent("a", "success", "rest", "r", "S1", "user", "S2", ("access",), "GET")
    assert (event.actor_id, event.object_type, event.object_id) == ("S1", "user", "S2")
    assert event.event_types == ("access",) and event.method == "GET"


def test_audit_log_records_on_the_audit_logger_with_the_ecs_fields(caplog):
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        AuditLog().record(DENIAL)
    (record,) = caplog.records
    assert record.name == AUDIT_LOGGER and record.levelno == logging.INFO
    assert record.ecs == DENIAL.to_ecs()
    assert record.getMessage() == "audit experiments.get failure user=S123 status=403"
    assert record.funcName == "test_audit_log_records_on_the_audit_logger_with_the_ecs_fields"


def test_the_logstash_event_of_an_audit_record_merges_the_ecs_fields():
    event = _format(_audit_record(ADMIN_CHANGE))
    assert event["event"]["dataset"] == "mymonit.audit" and event["event"]["kind"] == "event"
    assert event["user"]["id"] == "A001" and event["http"]["request"]["method"] == "PUT"
    assert event["log"]["logger"] == AUDIT_LOGGER and event["log"]["level"] == "INFO"
    assert event["@version"] == "1" and event["@timestamp"].endswith("Z")
    assert event["service"]["name"] == "mymonit" and event["host"]["hostname"]


def test_the_logstash_event_of_an_application_record():
    record = logging.LogRecord(
        "my_monit.rest", logging.WARNING, "x.py", 9, "slow %s", ("a",), None
    )
    record.request_id = "req-9"
    event = _format(record)
    assert event["message"] == "slow a" and event["event"] == {"dataset": "mymonit.app"}
    assert event["labels"] == {"request_id": "req-9"} and "error" not in event


def _failed(error: Exception, msg: str = "failed %s", args: tuple = (USER,)):
    exc_info = None
    try:
        raise error
    except Exception:  # pylint: disable=broad-exception-caught  # captured for a record
        exc_info = sys.exc_info()
    return logging.LogRecord("my_monit.storage", logging.ERROR, "x.py", 9, msg, args, exc_info)


def test_the_logstash_event_masks_users_and_exceptions():
    record = _failed(ValueError(f"Duplicate entry '{USER.email}' for key 'email'"))
    record.user = USER
    text = json.dumps(_format(record))
    for secret in ("Marie Curie", "uid-curie", "marie@example.org"):
        assert secret not in text
    event = json.loads(text)
    assert event["error"]["type"] == "builtins.ValueError"
    assert event["error"]["message"] == "Duplicate entry '***' for key 'email'"
    assert "Traceback" in event["error"]["stack_trace"]


def test_the_formatter_masks_on_its_own_without_the_filter():
    arguments = (USER, "a@b.org")
    record = logging.LogRecord("t", logging.INFO, "x.py", 1, "user %s at %s", arguments, None)
    record.ecs = {"url": {"path": "/users/marie@example.org"}}
    text = LogstashFormatter().format(record).decode()
    assert "Marie" not in text and "a@b.org" not in text and "marie@" not in text


def test_an_exception_that_cannot_be_printed_still_gives_its_type():
    class Unprintable(Exception):
        """An exception whose message cannot be rendered."""

        def __str__(self) -> str:
            raise RuntimeError("no")

    record = _failed(Unprintable(), "m", ())
    record.exc_text = "Traceback: Unprintable"
    error = json.loads(LogstashFormatter().format(record))["error"]
    assert error["type"].endswith("Unprintable") and error["message"] == "(unprintable exception)"
