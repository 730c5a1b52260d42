"""Stand-ins for the storage, the audit log and the connector, for the consumer's unit tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from my_monit.errors import Conflict, NotFound, Unavailable
from my_monit.messaging.message import parse_body
from my_monit.messaging.processor import Batch, Pending


class FakeStorage:
    """Keeps rows and consumed ids in memory; can be told to fail."""

    def __init__(self) -> None:
        self.experiments = {"device-vibrations": 1}
        self.measure_types = {"hertz": 3}
        self.rows: list[tuple] = []
        self.ids: set[str] = set()
        self.failures: list[Exception] = []
        self.lookups = 0
        self.inserts = 0

    def experiment_ids(self) -> dict[str, int]:
        self.lookups += 1
        self._maybe_fail()
        return dict(self.experiments)

    def measure_type_ids(self) -> dict[str, int]:
        return dict(self.measure_types)

    def consumed(self, message_ids) -> set[str]:
        self._maybe_fail()
        return self.ids & set(message_ids)

    def insert_measures(self, rows, message_ids=()) -> None:
        self.inserts += 1
        self._maybe_fail()
        if self.ids & set(message_ids):
            raise Conflict("message", "message_id", "is already taken")
        self.ids.update(message_ids)
        self.rows.extend(rows)

    def ping(self) -> None:
        self._maybe_fail()

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)


class FakeAuditLog:
    """Keeps audit events."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record(self, event) -> None:
        self.events.append(event)


class FakeConnector:
    """Records what the listener asks of the broker; runs timers and callbacks on demand."""

    def __init__(self) -> None:
        self.acks: list[int] = []
        self.dead: list[tuple[bytes, str]] = []
        self.timers: dict[int, tuple[float, Any]] = {}
        self.callbacks: list[Any] = []
        self.connects = 0
        self.cancelled = False
        self.closed = 0
        self.loop_stopped = False
        self.is_open = False
        self.is_connected = False
        self._next = 0
        self.events = None

    def connect(self, events) -> None:
        self.connects += 1
        self.events = events
        self.is_open = self.is_connected = True

    def run(self) -> None:
        self.loop_stopped = False

    def stop_loop(self) -> None:
        self.loop_stopped = True

    def call_later(self, delay, callback):
        self._next += 1
        self.timers[self._next] = (delay, callback)
        return self._next

    def cancel_timer(self, handle) -> None:
        self.timers.pop(handle, None)

    def fire_timers(self) -> None:
        for handle in sorted(self.timers):
            _, callback = self.timers.pop(handle)
            callback()

    def add_callback_threadsafe(self, callback) -> None:
        self.callbacks.append(callback)

    def run_callbacks(self) -> None:
        while self.callbacks:
            self.callbacks.pop(0)()

    def ack(self, tag: int) -> None:
        self.acks.append(tag)

    def cancel(self) -> None:
        self.cancelled = True

    def close(self) -> None:
        self.closed += 1
        if self.is_connected:
            self.is_open = self.is_connected = False
            self.events.on_disconnected("closed by us")

    def lose(self, reason: str = "connection reset") -> None:
        """Lose the connection, as a broker restart would."""
        self.is_open = self.is_connected = False
        self.events.on_disconnected(reason)

    def dead_letter(self, body, properties, reason) -> int | None:
        if not self.is_open:
            return None
        self.dead.append((body, reason))
        return len(self.dead)


def properties(message_id: str | None = None) -> SimpleNamespace:
    """Give message properties as pika hands them over."""
    return SimpleNamespace(message_id=message_id, headers=None)


def pending(tag: int, body: bytes, message_id: str | None = None) -> Pending:
    """Give a validated message."""
    return Pending(tag, message_id, parse_body(body), body, properties(message_id))


def batch(*messages: Pending, generation: int = 0) -> Batch:
    """Give a batch of messages."""
    return Batch(f"batch-{messages[0].tag if messages else 0}", generation, messages)


__all__ = ["FakeAuditLog", "FakeConnector", "FakeStorage", "NotFound", "Unavailable", "batch",
           "pending", "properties"]
