"""Unit tests of MessageIdPruner: when it runs, chunk by chunk, yielding, and on errors."""

from __future__ import annotations

import logging

from my_monit.errors import Unavailable
from my_monit.messaging.health import Metrics
from my_monit.messaging.pruner import MessageIdPruner


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ids:
    """Stands for Storage.prune_consumed: a count of old ids, deleted ``limit`` at a time."""

    def __init__(self, old: int, failures=()) -> None:
        self.old = old
        self.failures = list(failures)
        self.calls: list[tuple[int, int]] = []

    def prune_consumed(self, older_than_seconds: int, limit: int) -> int:
        self.calls.append((older_than_seconds, limit))
        if self.failures:
            raise self.failures.pop(0)
        deleted = min(self.old, limit)
        self.old -= deleted
        return deleted


def _pruner(ids: Ids, clock: Clock, metrics: Metrics | None = None) -> MessageIdPruner:
    return MessageIdPruner(ids, metrics or Metrics(), retention_seconds=604800,
                           interval_seconds=3600, chunk=100, clock=clock)


def test_a_pass_deletes_chunk_by_chunk_until_no_old_id_is_left():
    ids, clock, metrics = Ids(250), Clock(), Metrics()
    pruner = _pruner(ids, clock, metrics)

    pruner.prune(busy=lambda: False)

    assert ids.calls == [(604800, 100)] * 3 and ids.old == 0
    assert metrics.snapshot()["message_ids_pruned"] == 250
    assert pruner.seconds_until_due() == 3600


def test_the_next_pass_waits_for_the_interval():
    ids, clock = Ids(0), Clock()
    pruner = _pruner(ids, clock)
    pruner.prune(busy=lambda: False)
    ids.old = 10

    clock.now += 3599
    pruner.prune(busy=lambda: False)
    assert len(ids.calls) == 1 and pruner.seconds_until_due() == 1

    clock.now += 1
    pruner.prune(busy=lambda: False)
    assert len(ids.calls) == 2 and ids.old == 0


def test_a_waiting_batch_stops_the_pass_after_one_chunk_and_it_goes_on_later():
    ids, clock = Ids(250), Clock()
    pruner = _pruner(ids, clock)

    pruner.prune(busy=lambda: True)
    assert len(ids.calls) == 1 and ids.old == 150
    assert pruner.seconds_until_due() == 0  # still due: the writer comes back to it

    pruner.prune(busy=lambda: False)
    assert ids.old == 0 and pruner.seconds_until_due() == 3600


def test_a_finished_pass_is_logged_with_its_count(caplog):
    caplog.set_level(logging.INFO, logger="my_monit.messaging.pruner")
    pruner = _pruner(Ids(150), Clock())
    pruner.prune(busy=lambda: True)
    assert not caplog.records
    pruner.prune(busy=lambda: False)
    assert [r.getMessage() for r in caplog.records] == [
        "pruned 150 consumed message ids older than 7 days"
    ]


def test_a_database_error_is_a_warning_and_the_pass_waits_an_interval(caplog):
    ids, clock = Ids(50, failures=[Unavailable("database")]), Clock()
    pruner = _pruner(ids, clock)

    pruner.prune(busy=lambda: False)

    assert ids.old == 50 and pruner.seconds_until_due() == 3600
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "trying again in 3600 s" in caplog.records[0].getMessage()
    clock.now += 3600
    pruner.prune(busy=lambda: False)
    assert ids.old == 0
