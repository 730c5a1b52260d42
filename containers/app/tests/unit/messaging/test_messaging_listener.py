"""Unit tests of RabbitListener: batching, settling in order, dead letters, reconnects, stop."""

from __future__ import annotations

import json

import pytest
from messaging_fakes import FakeConnector, FakeStorage, properties

from my_monit.errors import Unavailable
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.health import Metrics
from my_monit.messaging.listener import RabbitListener
from my_monit.messaging.message import Rejected
from my_monit.messaging.processor import BatchOutcome, RabbitMessageProcessor

GOOD = json.dumps({"experiment": "device-vibrations", "measure": "hertz", "value": 1,
                   "timestamp": 1650000000}).encode()
ARRAY = json.dumps([json.loads(GOOD)] * 3).encode()


class FakeWriter:
    """Keeps submitted batches until the test decides their outcome."""

    def __init__(self) -> None:
        self.batches = []
        self.on_outcome = None
        self.discarded_before = 0
        self.finished = False
        self.closed = False
        self.failing = False
        self.alive = True
        self.on_crash = None

    def start(self, on_outcome, on_crash=None) -> None:
        self.on_outcome = on_outcome
        self.on_crash = on_crash

    def submit(self, batch) -> None:
        self.batches.append(batch)

    def discard_before(self, generation) -> None:
        self.discarded_before = generation

    def finish(self) -> None:
        self.finished = True

    def close(self) -> None:
        self.closed = True

    def commit(self, index=0, **changes) -> None:
        """Report batch ``index`` stored (all its messages unless told otherwise)."""
        batch = self.batches.pop(index)
        fields = {"stored": tuple(m.tag for m in batch.messages), **changes}
        self.on_outcome(BatchOutcome(batch, **fields))


class World:
    """A listener wired to fakes, connected and consuming."""

    def __init__(self, **settings) -> None:
        self.configuration = RabbitConfiguration(
            **{"batch_size": 3, "prefetch": 100, "flush_seconds": 0.2, **settings})
        self.connector = FakeConnector()
        self.storage = FakeStorage()
        self.writer = FakeWriter()
        self.metrics = Metrics()
        processor = RabbitMessageProcessor(self.storage, None, self.metrics)
        self.listener = RabbitListener(self.configuration, self.connector, processor,
                                       self.writer, self.metrics)
        self.code = self.listener.run()
        self.listener.on_consuming()
        self.tag = 0

    def deliver(self, body=GOOD, message_id=None) -> int:
        self.tag += 1
        self.listener.on_delivery(self.tag, properties(message_id), body)
        return self.tag

    def settle_callbacks(self) -> None:
        self.connector.run_callbacks()


@pytest.fixture(name="world")
def fixture_world():
    return World()


def test_batch_is_flushed_on_size_and_acked_after_commit(world):
    for _ in range(3):
        world.deliver()
    assert len(world.writer.batches) == 1 and world.connector.acks == []
    world.writer.commit()
    world.settle_callbacks()
    assert world.connector.acks == [3]


def test_batch_size_counts_measures_not_messages(world):
    world.deliver(ARRAY)
    assert len(world.writer.batches) == 1


def test_partial_batch_is_flushed_by_the_timer(world):
    world.deliver()
    assert not world.writer.batches
    ((delay, _),) = world.connector.timers.values()
    assert delay == 0.2
    world.connector.fire_timers()
    assert [m.tag for m in world.writer.batches[0].messages] == [1]


def test_batch_is_flushed_when_the_prefetch_window_is_full():
    world = World(batch_size=1000, prefetch=2)
    world.deliver()
    world.deliver()
    assert len(world.writer.batches) == 1


def test_acks_wait_for_earlier_batches(world):
    for _ in range(6):
        world.deliver()
    world.writer.commit(index=1)  # the second batch commits first
    world.settle_callbacks()
    assert world.connector.acks == []
    world.writer.commit(index=0)
    world.settle_callbacks()
    assert world.connector.acks == [6]


def test_poison_is_dead_lettered_and_acked_only_once_confirmed(world):
    world.deliver()
    poison = world.deliver(b"{oops")
    assert world.connector.dead == [(b"{oops", "not_json: body is not JSON")]
    world.listener.on_dead_letter_confirmed(1, True)
    assert world.connector.acks == []  # message 1 ahead of it is not stored yet
    world.connector.fire_timers()
    world.writer.commit()
    world.settle_callbacks()
    assert world.connector.acks == [poison]
    assert world.metrics.snapshot()["dead_lettered"] == 1
    assert world.metrics.snapshot()["consumed"] == 2


def test_refused_dead_letter_is_published_again(world):
    world.deliver(b"[]")
    world.listener.on_dead_letter_confirmed(1, False)
    world.connector.fire_timers()
    assert len(world.connector.dead) == 2
    world.listener.on_dead_letter_confirmed(2, True)
    assert world.connector.acks == [1]


def test_rejections_found_while_storing_are_dead_lettered(world):
    for _ in range(3):
        world.deliver()
    batch = world.writer.batches[0]
    refusal = Rejected("unknown_experiment", None, "names an unknown experiment")
    world.writer.commit(stored=(1, 3), rejected=((batch.messages[1], refusal),))
    world.settle_callbacks()
    assert world.connector.acks == [1]
    assert world.connector.dead[0][1].startswith("unknown_experiment")
    world.listener.on_dead_letter_confirmed(1, True)
    assert world.connector.acks == [1, 3]


def test_duplicates_are_acked_like_stored_messages(world):
    for _ in range(3):
        world.deliver(message_id="same")
    world.writer.commit(stored=(1,), duplicates=(2, 3))
    world.settle_callbacks()
    assert world.connector.acks == [3]


def test_abandoned_batch_is_not_acked(world):
    for _ in range(3):
        world.deliver()
    world.writer.commit(stored=(), abandoned=True)
    world.settle_callbacks()
    assert world.connector.acks == []


def test_lost_connection_forgets_deliveries_and_reconnects_with_backoff(world):
    for _ in range(3):
        world.deliver()
    world.connector.lose()
    assert world.writer.discarded_before == 1
    assert world.listener.readiness()["broker"] is False
    world.writer.commit()  # the old channel's batch commits after all
    world.settle_callbacks()
    assert world.connector.acks == []  # its tags mean nothing on a new channel

    delays = []
    for _ in range(8):
        ((delay, reconnect),) = world.connector.timers.values()
        world.connector.timers.clear()
        delays.append(delay)
        reconnect()
        world.listener.on_disconnected("refused")
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert world.metrics.snapshot()["reconnects"] == 9


def test_consuming_again_resets_the_backoff(world):
    world.listener.on_disconnected("reset")
    world.connector.fire_timers()
    world.listener.on_consuming()
    world.listener.on_disconnected("reset again")
    ((delay, _),) = world.connector.timers.values()
    assert delay == 1


def test_broker_away_too_long_stops_with_exit_code_1(monkeypatch):
    world = World(reconnect_seconds=10)
    clock = iter([100.0, 111.0])
    monkeypatch.setattr("my_monit.messaging.listener.time.monotonic", lambda: next(clock))
    world.listener.on_disconnected("refused")
    world.connector.fire_timers()
    world.listener.on_disconnected("refused")
    assert world.connector.loop_stopped
    assert world.listener.run() == 1


def test_stop_flushes_waits_for_the_commit_then_closes(world):
    world.deliver()
    world.listener.stop()
    world.connector.run_callbacks()
    assert world.connector.cancelled and world.writer.finished
    assert len(world.writer.batches) == 1 and world.connector.closed == 0
    world.deliver()  # sent before the broker saw the cancel: left unacknowledged
    assert len(world.writer.batches) == 1
    world.writer.commit()
    world.settle_callbacks()
    assert world.connector.acks == [1]
    assert world.connector.closed == 1 and world.connector.loop_stopped


def test_stop_waits_for_pending_dead_letters(world):
    world.deliver(b"nope")
    world.listener.stop()
    world.connector.run_callbacks()
    world.writer.commit()
    world.settle_callbacks()
    assert world.connector.closed == 0
    world.listener.on_dead_letter_confirmed(1, True)
    assert world.connector.acks == [1] and world.connector.closed == 1


def test_stop_while_disconnected_ends_the_loop_at_once(world):
    world.connector.lose()
    world.listener.stop()
    world.connector.run_callbacks()
    assert world.connector.loop_stopped and not world.connector.timers


def test_stop_gives_up_waiting_after_the_grace_period(world):
    world.deliver()
    world.listener.stop()
    world.connector.run_callbacks()
    world.listener.stop()  # a second signal changes nothing
    world.connector.run_callbacks()
    world.connector.fire_timers()
    assert world.connector.closed == 1 and world.connector.loop_stopped


def test_readiness_reports_each_check(world):
    assert world.listener.readiness() == {"database": True, "broker": True, "storing": True}
    world.storage.failures = [Unavailable("database")]
    world.writer.failing = True
    assert world.listener.readiness() == {"database": False, "broker": True, "storing": False}


def test_readiness_is_down_once_the_writer_thread_died(world):
    world.writer.alive = False
    assert world.listener.readiness()["storing"] is False


def test_a_crashed_writer_stops_the_consumer_with_exit_code_one(world):
    world.deliver()
    world.connector.fire_timers()  # the batch went to the writer, which then dies
    world.writer.on_crash()
    world.connector.run_callbacks()
    assert world.connector.closed == 1 and world.connector.acks == []
    assert world.connector.loop_stopped
    assert world.listener._exit_code == 1  # pylint: disable=protected-access


def test_a_parser_failure_not_foreseen_dead_letters_the_message(world, monkeypatch):
    def broken(_body):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(world.listener._processor, "parse", broken)  # pylint: disable=W0212
    world.deliver(GOOD)
    assert world.connector.dead == [(GOOD, "unparseable: the consumer could not read it")]


def test_no_dead_letter_is_awaited_when_the_channel_closed_meanwhile(world):
    world.connector.is_open = False
    world.deliver(b"{oops")
    assert world.connector.dead == []
    assert world.listener._channel.dead == {}  # pylint: disable=protected-access


def test_a_message_id_that_is_not_utf8_is_kept_byte_for_byte(world):
    world.listener.on_delivery(1, properties(b"\xffid"), GOOD)
    world.listener.on_delivery(2, properties("id"), GOOD)
    world.connector.fire_timers()
    ids = [m.message_id for m in world.writer.batches[0].messages]
    assert ids[0] != ids[1]
    assert ids[0].encode("utf-8", "surrogateescape") == b"\xffid"
