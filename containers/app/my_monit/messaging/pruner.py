"""Housekeeping of the consumed message ids, which make a redelivered message harmless.

Each stored message leaves its id in ``consumed_messages``. A redelivery comes within
minutes of the first delivery, so an id is kept for a week and then deleted: on the batch
writer's thread, once an hour, in chunks that yield to waiting batches.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from my_monit.messaging.health import Metrics
from my_monit.storage import Storage

log = logging.getLogger(__name__)

RETENTION_SECONDS = 7 * 24 * 3600
INTERVAL_SECONDS = 3600.0
CHUNK = 10_000


class MessageIdPruner:
    """Delete consumed message ids older than the retention, once an interval, chunk by chunk."""

    def __init__(  # pylint: disable=too-many-arguments  # the tuning knobs, for tests
        self,
        storage: Storage,
        metrics: Metrics,
        retention_seconds: int = RETENTION_SECONDS,
        interval_seconds: float = INTERVAL_SECONDS,
        chunk: int = CHUNK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._metrics = metrics
        self._retention = retention_seconds
        self._interval = interval_seconds
        self._chunk = chunk
        self._clock = clock
        self._due_at = clock()  # a first pass soon after the start
        self._deleted = 0  # in the pass under way

    def seconds_until_due(self) -> float:
        """Give how long the writer may sleep before the next pass is due."""
        return max(0.0, self._due_at - self._clock())

    def prune(self, busy: Callable[[], bool]) -> None:
        """When due, delete old ids until none is left; stop early when ``busy()`` says so.

        At least one chunk goes per call, so that a steady flow of batches cannot put the
        pass off for ever; an unfinished pass goes on at the next call. A database error
        is logged and the pass tried again an interval later: the table only grows
        meanwhile, and the consumer goes on storing.
        """
        if self._clock() < self._due_at:
            return
        try:
            while True:
                deleted = self._storage.prune_consumed(self._retention, self._chunk)
                self._deleted += deleted
                self._metrics.add(message_ids_pruned=deleted)
                if deleted < self._chunk:
                    self._finish_pass()
                    return
                if busy():
                    return
        # Housekeeping must not stop the writer, whatever the database or driver raised.
        except Exception:  # pylint: disable=broad-exception-caught
            log.warning("could not prune consumed message ids; trying again in %.0f s",
                        self._interval, exc_info=True)
            self._due_at = self._clock() + self._interval

    def _finish_pass(self) -> None:
        if self._deleted:
            log.info("pruned %d consumed message ids older than %d days",
                     self._deleted, self._retention // 86400)
        self._deleted = 0
        self._due_at = self._clock() + self._interval
