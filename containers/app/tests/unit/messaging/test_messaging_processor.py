"""Unit tests of RabbitMessageProcessor: resolving names, de-duplicating, storing, auditing."""

from __future__ import annotations

import json

import pytest
from messaging_fakes import FakeAuditLog, FakeStorage, batch, pending

from my_monit.errors import Conflict, NotFound, Unavailable
from my_monit.messaging.health import Metrics
from my_monit.messaging.processor import RabbitMessageProcessor


def _body(experiment="device-vibrations", measure="hertz", value=1.0, count=None) -> bytes:
    item = {"experiment": experiment, "measure": measure, "value": value,
            "timestamp": 1650000000}
    return json.dumps(item if count is None else [item] * count).encode()


@pytest.fixture(name="storage")
def fixture_storage():
    return FakeStorage()


@pytest.fixture(name="audit")
def fixture_audit():
    return FakeAuditLog()


@pytest.fixture(name="processor")
def fixture_processor(storage, audit):
    return RabbitMessageProcessor(storage, audit, Metrics())


def test_batch_of_messages_is_stored_in_one_insert(processor, storage):
    outcome = processor.store(batch(pending(1, _body()), pending(2, _body(count=3))))
    assert outcome.stored == (1, 2) and outcome.measures == 4
    assert storage.inserts == 1
    assert storage.rows[0][:2] == (1, 3) and len(storage.rows) == 4


def test_names_are_read_once_and_cached(processor, storage):
    processor.store(batch(pending(1, _body())))
    processor.store(batch(pending(2, _body())))
    assert storage.lookups == 1


def test_new_experiment_is_picked_up_on_a_miss(processor, storage):
    processor.store(batch(pending(1, _body())))
    storage.experiments["new-one"] = 9
    outcome = processor.store(batch(pending(2, _body(experiment="new-one"))))
    assert outcome.stored == (2,) and storage.rows[-1][0] == 9


def test_unknown_names_are_rejected_and_the_rest_stored(processor, storage):
    outcome = processor.store(batch(
        pending(1, _body()),
        pending(2, _body(experiment="nope")),
        pending(3, _body(measure="furlong")),
        pending(4, _body()),
    ))
    assert outcome.stored == (1, 4)
    assert [(m.tag, r.code) for m, r in outcome.rejected] == [
        (2, "unknown_experiment"), (3, "unknown_measure_type")]
    assert len(storage.rows) == 2


def test_one_unknown_element_rejects_the_whole_array(processor, storage):
    body = json.dumps([
        {"experiment": "device-vibrations", "measure": "hertz", "value": 1, "timestamp": 1},
        {"experiment": "device-vibrations", "measure": "furlong", "value": 1, "timestamp": 1},
    ]).encode()
    outcome = processor.store(batch(pending(1, body)))
    assert outcome.rejected[0][1].header.startswith("unknown_measure_type: element 1")
    assert not storage.rows


def test_duplicate_ids_are_stored_once(processor, storage):
    storage.ids.add("seen-before")
    outcome = processor.store(batch(
        pending(1, _body(), "a"), pending(2, _body(), "a"), pending(3, _body(), "seen-before"),
        pending(4, _body()), pending(5, _body()),
    ))
    assert outcome.stored == (1, 4, 5) and outcome.duplicates == (2, 3)
    assert len(storage.rows) == 3 and storage.ids == {"a", "seen-before"}


def test_conflict_from_a_concurrent_consumer_filters_and_retries(processor, storage):
    original = storage.insert_measures

    def racing_insert(rows, message_ids=()):
        storage.ids.add("raced")  # another consumer commits "raced" first
        storage.insert_measures = original
        raise Conflict("message", "message_id", "is already taken")

    storage.insert_measures = racing_insert
    outcome = processor.store(batch(pending(1, _body(), "raced"), pending(2, _body(), "other")))
    assert outcome.stored == (2,) and outcome.duplicates == (1,)
    assert len(storage.rows) == 1


def test_endless_conflicts_give_up_as_unavailable(processor, storage):
    def always_conflicting(rows, message_ids=()):
        raise Conflict("message", "message_id", "is already taken")

    storage.insert_measures = always_conflicting
    with pytest.raises(Unavailable):
        processor.store(batch(pending(1, _body(), "x")))


def test_missing_experiment_at_insert_reads_names_again(processor, storage):
    processor.store(batch(pending(1, _body())))
    storage.failures = [NotFound("referenced object")]
    storage.experiments = {}
    outcome = processor.store(batch(pending(2, _body())))
    assert outcome.rejected[0][1].code == "unknown_experiment"


def test_database_down_raises_unavailable_and_stores_nothing(processor, storage):
    storage.failures = [Unavailable("database")]
    with pytest.raises(Unavailable):
        processor.store(batch(pending(1, _body())))
    assert not storage.rows


def test_each_batch_is_audited_without_bodies(processor, audit):
    unstored = batch(pending(1, _body(experiment="alice@example.org")), pending(2, _body()))
    unstored = type(unstored)("b-1", 0, unstored.messages, ("not_json",))
    processor.store(unstored)
    (event,) = audit.events
    ecs = event.to_ecs()
    assert ecs["event"]["action"] == "measures.consume" and ecs["event"]["outcome"] == "success"
    assert ecs["mymonit"]["source"] == "amqp" and ecs["mymonit"]["request_id"] == "b-1"
    assert ecs["mymonit"]["batch"] == {
        "stored": 1, "dead_lettered": 2, "reasons": ["not_json", "unknown_experiment"]}
    assert ecs["mymonit"]["details"] == {
        "messages": 1, "duplicates": 0,
        "reason_counts": {"not_json": 1, "unknown_experiment": 1},
    }
    assert "alice" not in repr(ecs)


def test_batch_of_only_poison_touches_no_table_and_fails(processor, storage, audit):
    only_poison = type(batch())("b-2", 0, (), ("empty_array",))
    processor.store(only_poison)
    assert storage.inserts == 0
    assert audit.events[0].outcome == "failure"


def test_metrics_count_stored_measures_and_batches(storage, audit):
    metrics = Metrics()
    RabbitMessageProcessor(storage, audit, metrics).store(batch(pending(1, _body(count=5))))
    counts = metrics.snapshot()
    assert (counts["stored"], counts["stored_messages"], counts["batches"]) == (5, 1, 1)


def test_ping_asks_the_database(processor, storage):
    storage.failures = [Unavailable("database")]
    with pytest.raises(Unavailable):
        processor.ping()
