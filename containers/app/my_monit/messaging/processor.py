"""Turn batches of delivered messages into stored measures, exactly once per message id."""

from __future__ import annotations

import collections
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from my_monit.errors import Conflict, NotFound, Unavailable
from my_monit.logging.audit import AuditEvent, AuditLog
from my_monit.messaging.health import Metrics
from my_monit.messaging.message import ParsedMeasure, Rejected, parse_body
from my_monit.storage import Storage

log = logging.getLogger(__name__)

# A Conflict means another consumer stored one of our message ids between our check and
# our insert; each retry filters again, so more than a few in a row means something else.
CONFLICT_RETRIES = 5
Row = tuple[int, int, Any, float]


class Pending(NamedTuple):
    """A delivered message that is valid JSON with valid measures, waiting to be stored."""

    tag: int
    message_id: str | None
    measures: tuple[ParsedMeasure, ...]
    body: bytes
    properties: Any


@dataclass(frozen=True)
class Batch:
    """Messages stored in one transaction; ``rejected`` counts those refused on arrival."""

    batch_id: str
    generation: int
    messages: tuple[Pending, ...]
    rejected: tuple[str, ...] = ()

    @property
    def measure_count(self) -> int:
        """Count the measures the batch carries."""
        return sum(len(message.measures) for message in self.messages)


@dataclass(frozen=True)
class BatchOutcome:
    """What became of a batch: tags stored, tags already stored before, and refusals."""

    batch: Batch
    stored: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    rejected: tuple[tuple[Pending, Rejected], ...] = ()
    measures: int = 0
    abandoned: bool = False


class Catalogue:
    """The experiment and measure type ids by name, read again when a name is missing.

    Only the thread that stores batches uses it.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.experiments: dict[str, int] = {}
        self.measure_types: dict[str, int] = {}

    def refresh(self) -> None:
        """Read both maps again (a new experiment or type is then known)."""
        self.experiments = self._storage.experiment_ids()
        self.measure_types = self._storage.measure_type_ids()

    def rows(self, measures: Sequence[ParsedMeasure]) -> list[Row]:
        """Resolve names to ids; raise KeyError when a name is unknown to this copy."""
        experiments, types = self.experiments, self.measure_types
        return [(experiments[m[0]], types[m[1]], m[2], m[3]) for m in measures]

    def reject(self, measures: Sequence[ParsedMeasure]) -> Rejected:
        """Say which name of these measures is unknown."""
        for index, measure in enumerate(measures):
            which = f"element {index}" if len(measures) > 1 else None
            if measure.experiment not in self.experiments:
                return Rejected("unknown_experiment", which, "names an unknown experiment")
            if measure.measure_type not in self.measure_types:
                return Rejected("unknown_measure_type", which, "names an unknown measure type")
        return Rejected("unknown_experiment", None, "names an unknown experiment")


class RabbitMessageProcessor:
    """Validate message bodies, store batches of them, and audit each batch."""

    def __init__(self, storage: Storage, audit_log: AuditLog, metrics: Metrics) -> None:
        self._storage = storage
        self._audit_log = audit_log
        self._metrics = metrics
        self._catalogue = Catalogue(storage)

    @staticmethod
    def parse(body: bytes) -> tuple[ParsedMeasure, ...]:
        """Validate a body into measures; raise Rejected if it can never be stored."""
        return parse_body(body)

    def ping(self) -> None:
        """Raise Unavailable unless the database answers."""
        self._storage.ping()

    def store(self, batch: Batch) -> BatchOutcome:
        """Store a batch in one transaction and say what became of each message.

        Raise Unavailable while the database does not answer: nothing is stored then,
        and the caller retries the same batch later.
        """
        started = time.monotonic_ns()
        for _ in range(CONFLICT_RETRIES):
            # Resolve names, drop ids already stored, then insert the rest at once.
            resolved, rejected = self._resolve(batch.messages)
            fresh, duplicates = self._deduplicate(resolved)
            rows = list(itertools.chain.from_iterable(rows for _, rows in fresh))
            ids = [message.message_id for message, _ in fresh if message.message_id]
            try:
                if rows or ids:
                    self._storage.insert_measures(rows, ids)
            except Conflict:
                log.info("a message id of batch %s was stored meanwhile; filtering again",
                         batch.batch_id)
                continue
            except NotFound:
                log.info("an experiment or measure type went away; reading them again")
                self._catalogue.refresh()
                continue
            outcome = BatchOutcome(
                batch,
                stored=tuple(message.tag for message, _ in fresh),
                duplicates=tuple(message.tag for message in duplicates),
                rejected=tuple(rejected),
                measures=len(rows),
            )
            try:
                self._record(outcome, time.monotonic_ns() - started)
            # The batch is committed: a failing count or audit event must not make the
            # writer store it again, one message at a time.
            except Exception:  # pylint: disable=broad-exception-caught
                log.exception("recording stored batch %s failed", batch.batch_id)
            return outcome
        raise Unavailable("database", None, "message ids kept conflicting")

    def _resolve(
        self, messages: Sequence[Pending]
    ) -> tuple[list[tuple[Pending, list[Row]]], list[tuple[Pending, Rejected]]]:
        resolved: list[tuple[Pending, list[Row]]] = []
        unknown: list[Pending] = []
        for message in messages:
            try:
                resolved.append((message, self._catalogue.rows(message.measures)))
            except KeyError:
                unknown.append(message)
        if not unknown:
            return resolved, []

        # A name missing from the cached maps may be new: read them again before refusing.
        self._catalogue.refresh()
        rejected: list[tuple[Pending, Rejected]] = []
        for message in unknown:
            try:
                resolved.append((message, self._catalogue.rows(message.measures)))
            except KeyError:
                rejected.append((message, self._catalogue.reject(message.measures)))
        # Keep delivery order, so that rows go in as they were published.
        resolved.sort(key=lambda item: item[0].tag)
        return resolved, rejected

    def _deduplicate(
        self, resolved: list[tuple[Pending, list[Row]]]
    ) -> tuple[list[tuple[Pending, list[Row]]], list[Pending]]:
        ids = {message.message_id for message, _ in resolved if message.message_id}
        if not ids:
            return resolved, []
        already = self._storage.consumed(sorted(ids))
        fresh: list[tuple[Pending, list[Row]]] = []
        duplicates: list[Pending] = []
        seen: set[str] = set()
        for message, rows in resolved:
            message_id = message.message_id
            if message_id and (message_id in already or message_id in seen):
                duplicates.append(message)
                continue
            if message_id:
                seen.add(message_id)
            fresh.append((message, rows))
        return fresh, duplicates

    def _record(self, outcome: BatchOutcome, duration_ns: int) -> None:
        reasons = collections.Counter(outcome.batch.rejected)
        reasons.update(rejection.code for _, rejection in outcome.rejected)
        dead = sum(reasons.values())
        self._metrics.add(
            stored=outcome.measures,
            stored_messages=len(outcome.stored),
            duplicates=len(outcome.duplicates),
            batches=1,
        )
        self._audit_log.record(
            AuditEvent(
                action="measures.consume",
                outcome="failure" if dead and not outcome.stored else "success",
                source="amqp",
                request_id=outcome.batch.batch_id,
                object_type="measures",
                event_types=("creation",),
                duration_ns=duration_ns,
                stored=outcome.measures,
                dead_lettered=dead,
                reasons=tuple(sorted(reasons)),
                details={
                    "messages": len(outcome.stored),
                    "duplicates": len(outcome.duplicates),
                    "reason_counts": dict(reasons),
                },
            )
        )
        log.debug("stored batch %s: %d measures", outcome.batch.batch_id, outcome.measures)
