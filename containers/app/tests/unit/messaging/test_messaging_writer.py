"""Unit tests of BatchWriter: order, retries while the database is away, isolation, stop."""

from __future__ import annotations

import json
import queue
import threading

import pytest
from messaging_fakes import batch, pending

from my_monit.errors import Unavailable
from my_monit.messaging import writer as writer_module
from my_monit.messaging.health import Metrics
from my_monit.messaging.processor import BatchOutcome
from my_monit.messaging.writer import BatchWriter

BODY = json.dumps({"experiment": "e", "measure": "hertz", "value": 1, "timestamp": 1}).encode()


class ScriptedProcessor:
    """Fails as told, then stores; records the batches it stored."""

    def __init__(self, failures=()) -> None:
        self.failures = list(failures)
        self.stored = []
        self.calls = 0

    def store(self, batch_):
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if callable(failure):
                failure(batch_)
            else:
                raise failure
        self.stored.append(batch_.batch_id)
        return BatchOutcome(batch_, stored=tuple(m.tag for m in batch_.messages),
                            measures=len(batch_.messages))


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(writer_module, "FIRST_BACKOFF_SECONDS", 0.01)


def _run(processor, batches, before_close=None):
    metrics = Metrics()
    outcomes: queue.Queue = queue.Queue()
    writer = BatchWriter(processor, metrics, max_backoff_seconds=0.02)
    writer.start(outcomes.put)
    for item in batches:
        writer.submit(item)
    if before_close:
        before_close(writer)
    else:
        results = [outcomes.get(timeout=5) for _ in batches]
        writer.close(timeout=5)
        return results, metrics, writer
    writer.close(timeout=5)
    return [outcomes.get_nowait() for _ in range(outcomes.qsize())], metrics, writer


def test_batches_are_stored_in_order():
    processor = ScriptedProcessor()
    outcomes, _, _ = _run(processor, [batch(pending(i, BODY)) for i in (1, 2, 3)])
    assert [o.stored for o in outcomes] == [(1,), (2,), (3,)]


def test_unavailable_database_is_retried_until_it_answers(caplog):
    processor = ScriptedProcessor([Unavailable("database")] * 3)
    outcomes, metrics, writer = _run(processor, [batch(pending(1, BODY))])
    assert outcomes[0].stored == (1,) and processor.calls == 4
    assert metrics.snapshot()["database_retries"] == 3
    assert not writer.failing
    assert sum("retrying batch" in r.message for r in caplog.records) == 3
    assert all(r.levelname == "WARNING" for r in caplog.records if "retrying" in r.message)


def test_failing_flag_is_up_while_retrying():
    seen = threading.Event()
    outcomes: queue.Queue = queue.Queue()
    writer = BatchWriter(ScriptedProcessor([Unavailable("database")] * 50), Metrics(), 0.02)
    writer.start(outcomes.put)
    writer.submit(batch(pending(1, BODY)))
    for _ in range(200):
        if writer.failing:
            seen.set()
            break
        threading.Event().wait(0.01)
    writer.close(timeout=5)
    assert seen.is_set()
    assert outcomes.get_nowait().abandoned


def test_stopping_leaves_unstorable_batches_to_the_broker():
    def stop_then_fail(writer):
        writer.finish()

    processor = ScriptedProcessor([Unavailable("database")])
    outcomes, _, _ = _run(processor, [batch(pending(1, BODY))], before_close=stop_then_fail)
    assert outcomes[0].abandoned and not outcomes[0].stored


def test_batches_of_a_lost_connection_are_dropped():
    def lose(writer):
        writer.discard_before(1)

    processor = ScriptedProcessor()
    gate, entered = threading.Event(), threading.Event()
    processor.failures = [lambda _: (entered.set(), gate.wait(5))]
    metrics = Metrics()
    outcomes: queue.Queue = queue.Queue()
    writer = BatchWriter(processor, metrics, 0.02)
    writer.start(outcomes.put)
    writer.submit(batch(pending(1, BODY)))
    writer.submit(batch(pending(2, BODY)))
    assert entered.wait(5)
    lose(writer)
    gate.set()
    writer.close(timeout=5)
    first, second = outcomes.get_nowait(), outcomes.get_nowait()
    assert first.stored == (1,)  # already being stored when the connection went
    assert second.abandoned and processor.stored == ["batch-1"]


def test_an_error_that_would_recur_is_isolated_to_its_message():
    def refuse_message_2(batch_):
        if any(m.tag == 2 for m in batch_.messages):
            raise ValueError("DataError from the server")

    processor = ScriptedProcessor([refuse_message_2] * 4)
    outcomes, _, _ = _run(processor, [batch(pending(1, BODY), pending(2, BODY), pending(3, BODY))])
    (outcome,) = outcomes
    assert outcome.stored == (1, 3)
    assert [(m.tag, r.code) for m, r in outcome.rejected] == [(2, "storage_error")]


def test_isolation_stops_when_the_database_goes_away_meanwhile():
    processor = ScriptedProcessor([ValueError("odd"), None, Unavailable("database")])
    processor.failures[1] = lambda _: None

    def stop(writer):
        writer.finish()

    outcomes, _, _ = _run(processor, [batch(pending(1, BODY), pending(2, BODY))], stop)
    (outcome,) = outcomes
    assert outcome.abandoned and outcome.stored == (1,)


class RecordingPruner:
    """Stands for MessageIdPruner: always due; records whether the writer was busy."""

    def __init__(self) -> None:
        self.busy: list[bool] = []
        self.called = threading.Event()

    def seconds_until_due(self) -> float:
        return 0.05

    def prune(self, busy) -> None:
        self.busy.append(busy())
        self.called.set()


def test_an_idle_writer_prunes_and_a_stopping_one_does_not():
    pruner = RecordingPruner()
    writer = BatchWriter(ScriptedProcessor(), Metrics(), pruner=pruner)
    writer.start(lambda outcome: None)
    assert pruner.called.wait(5)  # no batch came: the writer prunes while idle
    writer.close(timeout=5)
    calls = len(pruner.busy)
    assert calls >= 1 and not any(pruner.busy)
    writer._prune()  # pylint: disable=protected-access  # as the thread would, once stopping
    assert len(pruner.busy) == calls


def test_pruning_waits_while_batches_are_queued():
    events: list = []
    release = threading.Event()

    class Processor(ScriptedProcessor):
        def store(self, batch_):
            if not events:
                release.wait(5)  # the second batch is queued meanwhile
            events.append(("store", batch_.batch_id))
            return super().store(batch_)

    class Pruner(RecordingPruner):
        def prune(self, busy) -> None:
            events.append(("prune", busy()))
            super().prune(busy)

    pruner = Pruner()
    writer = BatchWriter(Processor(), Metrics(), pruner=pruner)
    outcomes: queue.Queue = queue.Queue()
    first, second = batch(pending(1, BODY)), batch(pending(2, BODY))
    writer.submit(first)
    writer.submit(second)
    writer.start(outcomes.put)
    release.set()
    assert [outcomes.get(timeout=5).stored for _ in range(2)] == [(1,), (2,)]
    assert pruner.called.wait(5)
    writer.close(timeout=5)
    # No pruning between the two batches: the queued one went first.
    assert events[:3] == [("store", first.batch_id), ("store", second.batch_id), ("prune", False)]
