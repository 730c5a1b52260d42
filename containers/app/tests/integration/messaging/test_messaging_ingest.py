"""Integration tests of the consumer on the real RabbitMQ and MariaDB: what gets stored."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from messaging_support import (
    EXPERIMENT, ConsumerThread, measure, start_consumer_process, wait_until,
)
from support.logstash_listener import LogstashListener, field, find_leaks

from my_monit.messaging.health import HealthServer

pytestmark = pytest.mark.integration


POISON = {
    "not-json": (b"{\"experiment\": ", "not_json"),
    "not-object": (b"\"just a string\"", "not_object"),
    "missing-field": (json.dumps({"experiment": EXPERIMENT, "measure": "hertz",
                                  "timestamp": 1}).encode(), "missing_field"),
    "wrong-type": (json.dumps(measure(value="high")).encode(), "wrong_type"),
    "not-finite": (b'{"experiment": "device-vibrations", "measure": "hertz", "value": NaN, '
                   b'"timestamp": 1}', "not_finite"),
    "bad-timestamp": (json.dumps(measure(timestamp="tuesday")).encode(), "bad_timestamp"),
    "unknown-experiment": (json.dumps(measure(experiment="no-such-one")).encode(),
                           "unknown_experiment"),
    "unknown-measure-type": (json.dumps(measure(measure="furlong")).encode(),
                             "unknown_measure_type"),
    "empty-array": (b"[]", "empty_array"),
    "one-bad-element": (json.dumps([measure(100.0), measure(101.0), measure(value=None)])
                        .encode(), "wrong_type"),
    "timestamp-past-9999": (json.dumps(measure(timestamp=253402300800)).encode(),
                            "bad_timestamp"),
    "offset-past-9999": (json.dumps(measure(timestamp="9999-12-31T23:59:59-01:00")).encode(),
                         "bad_timestamp"),
}


def test_every_poison_case_goes_to_the_dead_queue_and_good_ones_are_stored(
        config, database, broker):
    # Good messages before, between and after the poison.
    broker.publish(measure(1.0), "good-1")
    for message_id, (body, _) in POISON.items():
        broker.publish(body, message_id)
        broker.publish(measure(2.0), f"good-after-{message_id}")

    with ConsumerThread(config) as consumer:
        wait_until(lambda: len(database.values()) == 1 + len(POISON))
        wait_until(lambda: broker.depth(broker.dead_queue) == len(POISON))
        wait_until(lambda: consumer.metrics.snapshot()["dead_lettered"] == len(POISON))
        # Everything is acknowledged: nothing waits for redelivery.
        wait_until(lambda: broker.depth() == 0)

    dead = {properties.message_id: (properties, body) for properties, body in
            broker.dead_letters()}
    assert set(dead) == set(POISON)
    for message_id, (body, code) in POISON.items():
        properties, dead_body = dead[message_id]
        assert dead_body == body
        assert properties.headers["x-mymonit-reason"].startswith(f"{code}: ")
    assert sorted(database.values()) == [1.0] + [2.0] * len(POISON)  # none of the bad array


def test_array_message_is_stored_whole_with_its_timestamps(config, database, broker):
    broker.publish([measure(float(i), timestamp=f"2022-04-06T07:00:00.{i:06d}Z")
                    for i in range(50)])
    with ConsumerThread(config):
        wait_until(lambda: len(database.values()) == 50)
    rows = database.query("SELECT taken_at, value FROM measures ORDER BY value")
    assert [row[1] for row in rows] == [float(i) for i in range(50)]
    assert rows[7][0].isoformat() == "2022-04-06T07:00:00.000007"


def test_same_message_id_twice_is_stored_once(config, database, broker):
    with ConsumerThread(config) as consumer:
        broker.publish(measure(5.0), "same-id")
        wait_until(lambda: database.values() == [5.0])
        broker.publish(measure(5.0), "same-id")
        broker.publish(measure(6.0), "other-id")
        wait_until(lambda: consumer.metrics.snapshot()["duplicates"] == 1)
        wait_until(lambda: len(database.values()) == 2)
        wait_until(lambda: broker.depth() == 0)
    assert sorted(database.values()) == [5.0, 6.0]
    assert database.query("SELECT COUNT(*) FROM consumed_messages")[0][0] == 2


def test_the_consumer_prunes_message_ids_older_than_a_week_and_keeps_newer_ones(
        config, database, broker):
    for message_id, days in (("old-1", 8), ("old-2", 30), ("recent", 6)):
        database.query("INSERT INTO consumed_messages (message_id, consumed_at)"
                       " VALUES (%s, NOW(6) - INTERVAL %s DAY)", (message_id.encode(), days))

    with ConsumerThread(config) as consumer:
        wait_until(lambda: consumer.metrics.snapshot()["message_ids_pruned"] == 2)
        broker.publish(measure(1.0), "recent")  # still known: a duplicate
        broker.publish(measure(2.0), "old-1")  # forgotten: stored as new
        wait_until(lambda: consumer.metrics.snapshot()["duplicates"] == 1)
        wait_until(lambda: database.values() == [2.0])

    ids = {row[0].decode() for row in database.query("SELECT message_id FROM consumed_messages")}
    assert ids == {"recent", "old-1"}


def test_experiment_created_after_start_is_picked_up(config, database, broker):
    with ConsumerThread(config):
        broker.publish(measure(1.0), "warm-up")
        wait_until(lambda: database.values() == [1.0])
        database.add_experiment("created-later")
        broker.publish(measure(7.0, experiment="created-later"), "later")
        wait_until(lambda: database.values("created-later") == [7.0])
    assert not broker.dead_letters()


def test_many_messages_are_stored_in_few_batches(config, database, broker):
    for index in range(1000):
        broker.publish(measure(float(index)))
    with ConsumerThread(config) as consumer:
        wait_until(lambda: len(database.values()) == 1000)
        batches = consumer.metrics.snapshot()["batches"]
    assert batches <= 20  # batch size 200, prefetch 500
    assert sorted(database.values()) == [float(i) for i in range(1000)]


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_endpoints_tell_liveness_readiness_and_metrics(config, database, broker):
    with ConsumerThread(config) as consumer:
        server = HealthServer(0, consumer.metrics, consumer.listener.readiness,
                              host="127.0.0.1")
        server.start()
        try:
            broker.publish(measure(3.0), "m-1")
            broker.publish(b"nope", "m-2")
            # The poison is dead-lettered at once; the good one waits for its batch.
            wait_until(lambda: consumer.metrics.snapshot()["dead_lettered"] == 1)
            wait_until(lambda: consumer.metrics.snapshot()["stored"] == 1)
            assert _get(server.port, "/healthz")[0] == 200
            status, body = _get(server.port, "/readyz")
            assert status == 200 and json.loads(body)["checks"] == {
                "database": True, "broker": True, "storing": True}
            status, text = _get(server.port, "/metrics")
            assert status == 200
            assert "mymonit_messages_consumed_total 2" in text
            assert "mymonit_measures_stored_total 1" in text
            assert "mymonit_messages_dead_lettered_total 1" in text
            assert "mymonit_batches_total" in text and "mymonit_broker_reconnects_total 0" in text
            assert _get(server.port, "/other")[0] == 404
        finally:
            server.stop()
    # Stopped, the consumer is not ready any more.
    assert consumer.listener.readiness()["broker"] is False


def test_each_stored_batch_sends_its_audit_event_to_logstash(config, database, broker, tmp_path):
    """A real TCP listener gets the consumer's batch events: stored, dead-lettered, reasons."""
    for index in range(5):
        broker.publish(measure(float(index)), f"audited-{index}")
    broker.publish(b"{oops", "audited-poison")
    with LogstashListener() as listener:
        consumer = start_consumer_process(config, tmp_path / "consumer.log", listener.port)
        try:
            wait_until(lambda: database.count() == 5, timeout=60)

            def batches():
                return [event for event in listener.events()
                        if field(event, "event.action") == "measures.consume"]

            wait_until(lambda: sum(field(e, "mymonit.batch.dead_lettered", 0)
                                   for e in batches()) == 1, timeout=30)
        finally:
            consumer.terminate()
            consumer.wait(30)
    events = batches()
    assert sum(field(event, "mymonit.batch.stored") for event in events) == 5
    assert any("not_json" in field(event, "mymonit.batch.reasons", []) for event in events)
    for event in events:
        assert field(event, "mymonit.source") == "amqp"
        assert field(event, "event.dataset") == "mymonit.audit"
        assert field(event, "event.outcome") in ("success", "failure")
        assert field(event, "mymonit.request_id")
    assert find_leaks(listener.texts(), [EXPERIMENT]) == []  # no message body in any event
