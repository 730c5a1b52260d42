"""The thread that stores batches, so that database waits never stall the broker's I/O loop.

While the database does not answer, it keeps the batch in hand (its messages stay
unacknowledged) and tries again with a capped back-off.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from my_monit.errors import Unavailable
from my_monit.messaging.health import Metrics
from my_monit.messaging.message import Rejected
from my_monit.messaging.processor import Batch, BatchOutcome, RabbitMessageProcessor
from my_monit.messaging.pruner import MessageIdPruner

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.5


class BatchWriter:  # pylint: disable=too-many-instance-attributes  # queue, callbacks, flags
    """Store submitted batches in order on a thread of its own; report each outcome."""

    def __init__(
        self,
        processor: RabbitMessageProcessor,
        metrics: Metrics,
        max_backoff_seconds: float = 30.0,
        pruner: MessageIdPruner | None = None,
    ) -> None:
        self._processor = processor
        self._pruner = pruner
        self._metrics = metrics
        self._max_backoff = max_backoff_seconds
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._wake = threading.Event()
        self._stopping = False
        self._discard_before = 0
        self._on_outcome: Callable[[BatchOutcome], None] = lambda outcome: None
        self._on_crash: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, name="batch-writer", daemon=True)
        self.failing = False

    def start(
        self,
        on_outcome: Callable[[BatchOutcome], None],
        on_crash: Callable[[], None] = lambda: None,
    ) -> None:
        """Start the thread; ``on_outcome`` is called on it after each batch.

        ``on_crash`` is called (on the thread) if the thread dies of an error: no batch
        would be stored from then on, so the consumer must not go on as if all was well.
        """
        self._on_outcome = on_outcome
        self._on_crash = on_crash
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Tell whether the thread runs (or has not been started yet)."""
        return self._thread.is_alive() or self._thread.ident is None

    def submit(self, batch: Batch) -> None:
        """Queue a batch for storing."""
        self._queue.put(batch)

    def discard_before(self, generation: int) -> None:
        """Drop batches of older connections: their messages will be delivered again."""
        self._discard_before = generation
        self._wake.set()

    def finish(self) -> None:
        """Try each batch still queued once more, without waiting for a failing database."""
        self._stopping = True
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread once the queue is done (or after ``timeout`` seconds)."""
        self.finish()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                try:
                    batch = self._queue.get(timeout=self._idle_seconds())
                except queue.Empty:
                    self._prune()
                    continue
                if batch is None:
                    return
                self._on_outcome(self._write(batch))
                if self._queue.empty():
                    self._prune()
        # The boundary of the thread: say it died, so that the consumer stops (non-zero).
        except Exception:  # pylint: disable=broad-exception-caught
            log.exception("the batch writer failed; no batch can be stored any more")
            self.failing = True
            self._on_crash()

    def _idle_seconds(self) -> float | None:
        return None if self._pruner is None else self._pruner.seconds_until_due()

    def _prune(self) -> None:
        """Prune old message ids between batches; a waiting batch or a stop comes first."""
        if self._pruner is not None and not self._stopping:
            self._pruner.prune(busy=lambda: self._stopping or not self._queue.empty())

    def _write(self, batch: Batch) -> BatchOutcome:
        delay = FIRST_BACKOFF_SECONDS
        while True:
            if batch.generation < self._discard_before:
                return BatchOutcome(batch, abandoned=True)
            try:
                outcome = self._processor.store(batch)
            except Unavailable as error:
                if not self._retry_later(batch, error, delay):
                    return BatchOutcome(batch, abandoned=True)
                delay = min(delay * 2, self._max_backoff)
                continue
            except Exception:  # pylint: disable=broad-exception-caught  # see below
                # The boundary of the thread: an error that is not the database being away
                # would come back on every retry, so isolate the message that causes it.
                log.exception("storing batch %s failed; storing its messages one by one",
                              batch.batch_id)
                return self._write_one_by_one(batch)
            self.failing = False
            return outcome

    def _retry_later(self, batch: Batch, error: Unavailable, delay: float) -> bool:
        self.failing = True
        self._metrics.add(database_retries=1)
        if self._stopping:
            log.warning("database unavailable (%s); leaving batch %s to the broker",
                        error, batch.batch_id)
            return False
        log.warning("database unavailable (%s); retrying batch %s in %.1f s",
                    error, batch.batch_id, delay)
        self._wake.wait(delay)
        self._wake.clear()
        return True

    def _write_one_by_one(self, batch: Batch) -> BatchOutcome:
        if len(batch.messages) <= 1:
            refusal = Rejected("storage_error", None, "the database refused its measures")
            return BatchOutcome(
                batch, rejected=tuple((message, refusal) for message in batch.messages)
            )
        stored: list[int] = []
        duplicates: list[int] = []
        rejected: list = []
        measures = 0
        for index, message in enumerate(batch.messages):
            single = Batch(f"{batch.batch_id}-{index}", batch.generation, (message,),
                           batch.rejected if index == 0 else ())
            outcome = self._write(single)
            stored += outcome.stored
            duplicates += outcome.duplicates
            rejected += outcome.rejected
            measures += outcome.measures
            if outcome.abandoned:
                return BatchOutcome(batch, tuple(stored), tuple(duplicates), tuple(rejected),
                                    measures, abandoned=True)
        return BatchOutcome(batch, tuple(stored), tuple(duplicates), tuple(rejected), measures)
