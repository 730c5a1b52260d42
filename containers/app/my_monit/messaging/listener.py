"""The consumer: batches deliveries, acknowledges what is stored, dead-letters poison.

Everything here runs on the connector's I/O loop, but ``stop`` (any thread or a signal
handler) and ``readiness`` (the health server's thread). The batch writer's thread hands
its outcomes back through a queue and a thread-safe wake-up of the loop.

A delivery is settled when its measures are committed, when its message id was stored
before, or when the broker confirmed its copy in the dead-letter queue. Acks go out with
``multiple=True`` up to the last tag of the settled prefix, so nothing is acknowledged
before everything delivered ahead of it is safe.
"""

from __future__ import annotations

import collections
import logging
import queue
import time
import uuid
from typing import Any

from my_monit.errors import Unavailable
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.connector import RabbitConnector
from my_monit.messaging.health import Metrics
from my_monit.messaging.message import Rejected
from my_monit.messaging.processor import Batch, BatchOutcome, Pending, RabbitMessageProcessor
from my_monit.messaging.writer import BatchWriter

log = logging.getLogger(__name__)

FIRST_RECONNECT_SECONDS = 1.0
# Kubernetes sends SIGKILL 30 s after SIGTERM by default: leave time to close cleanly.
STOP_GRACE_SECONDS = 20.0
DEAD_LETTER_RETRY_SECONDS = 1.0


def message_id(properties: Any) -> str | None:
    """Give the AMQP message id as text, or None when the publisher set none.

    pika hands an id that is not UTF-8 over as bytes; it is kept byte for byte (storage
    writes it back as the same bytes), so that two different ids never meet as one.
    """
    value = getattr(properties, "message_id", None)
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "surrogateescape")
    return value or None


class ChannelState:  # pylint: disable=too-few-public-methods  # a record of one channel
    """The deliveries of one channel: the batch being filled, and what awaits settling."""

    def __init__(self) -> None:
        self.messages: list[Pending] = []
        self.rejected: list[str] = []
        self.measures = 0
        self.unsettled: collections.deque[int] = collections.deque()
        self.settled: set[int] = set()
        self.dead: dict[int, tuple[int, bytes, Any, Rejected]] = {}
        self.in_writer = 0


class RabbitListener:  # pylint: disable=too-many-instance-attributes  # the consumer's state
    """Consume measure messages, store them in batches, and survive broker and DB outages."""

    def __init__(  # pylint: disable=too-many-arguments  # injected collaborators
        self,
        configuration: RabbitConfiguration,
        connector: RabbitConnector,
        processor: RabbitMessageProcessor,
        writer: BatchWriter,
        metrics: Metrics,
    ) -> None:
        self._configuration = configuration
        self._connector = connector
        self._processor = processor
        self._writer = writer
        self._metrics = metrics
        self._outcomes: queue.SimpleQueue[BatchOutcome] = queue.SimpleQueue()
        self._generation = 0
        self._consuming = False
        self._stopping = False
        self._exit_code = 0
        self._backoff = FIRST_RECONNECT_SECONDS
        self._down_since: float | None = None
        self._timers: dict[str, Any] = {}
        self._channel = ChannelState()

    # life cycle

    def run(self) -> int:
        """Consume until stopped (0) or until the broker stays away too long (1)."""
        self._writer.start(self._on_writer_outcome, self._on_writer_crash)
        self._connect()
        try:
            self._connector.run()
        finally:
            self._writer.close()
        return self._exit_code

    def stop(self) -> None:
        """Ask the consumer to stop; safe from any thread and from a signal handler."""
        self._connector.add_callback_threadsafe(self._begin_stop)

    def readiness(self) -> dict[str, bool]:
        """Tell whether the database answers, messages flow, and batches get stored."""
        try:
            self._processor.ping()
            database = True
        except Unavailable:
            database = False
        return {
            "database": database,
            "broker": self._consuming,
            "storing": self._writer.alive and not self._writer.failing,
        }

    def _connect(self) -> None:
        self._timers.pop("reconnect", None)
        self._connector.connect(self)

    # connector events

    def on_consuming(self) -> None:
        """Messages flow again: the back-off starts over."""
        self._consuming = True
        self._backoff = FIRST_RECONNECT_SECONDS
        self._down_since = None

    def on_delivery(self, tag: int, properties: Any, body: bytes) -> None:
        """Validate one message into the current batch, or dead-letter it."""
        if self._stopping:
            return  # left unacknowledged: the broker hands it to the next consumer
        channel = self._channel
        channel.unsettled.append(tag)
        try:
            measures = self._processor.parse(body)
        except Rejected as rejection:
            channel.rejected.append(rejection.code)
            self._dead_letter(tag, body, properties, rejection)
        # A boundary: a message that breaks the parser in a way not foreseen must not take
        # the consumer down (it would come back and do it again after every restart).
        except Exception:  # pylint: disable=broad-exception-caught
            log.exception("message %d broke the parser; dead-lettering it", tag)
            rejection = Rejected("unparseable", None, "the consumer could not read it")
            channel.rejected.append(rejection.code)
            self._dead_letter(tag, body, properties, rejection)
        else:
            channel.messages.append(
                Pending(tag, message_id(properties), measures, body, properties)
            )
            channel.measures += len(measures)

        # Flush on size, or when the broker will send no more until something is acked.
        if (
            channel.measures >= self._configuration.batch_size
            or len(channel.unsettled) >= self._configuration.prefetch
        ):
            self._flush()
        elif "flush" not in self._timers:
            self._timers["flush"] = self._connector.call_later(
                self._configuration.flush_seconds, self._on_flush_timer
            )

    def on_dead_letter_confirmed(self, sequence: int, confirmed: bool) -> None:
        """Settle a poison message once its dead letter is safe; publish again if refused."""
        entry = self._channel.dead.pop(sequence, None)
        if entry is None:
            return
        if confirmed:
            self._metrics.add(dead_lettered=1)
            self._settle((entry[0],))
            self._finish_stop_if_idle()
            return
        log.warning("RabbitMQ refused dead letter of message %d; publishing again", entry[0])
        generation = self._generation
        self._connector.call_later(
            DEAD_LETTER_RETRY_SECONDS, lambda: self._dead_letter_again(generation, entry)
        )

    def on_disconnected(self, reason: str) -> None:
        """Forget the channel's deliveries, then reconnect with back-off, or stop."""
        self._consuming = False
        self._generation += 1
        self._writer.discard_before(self._generation)
        self._cancel_timer("flush")
        self._cancel_timer("stop")
        self._channel = ChannelState()
        if self._stopping:
            log.info("disconnected from RabbitMQ")
            self._connector.stop_loop()
            return

        # Back off, capped, and give up (exit non-zero) when the broker stays away too long.
        now = time.monotonic()
        self._down_since = self._down_since or now
        if now - self._down_since > self._configuration.reconnect_seconds:
            log.error("RabbitMQ unavailable for %.0f s (%s); giving up",
                      now - self._down_since, reason)
            self._exit_code = 1
            self._connector.stop_loop()
            return
        delay = self._backoff
        self._backoff = min(delay * 2, self._configuration.max_backoff_seconds)
        self._metrics.add(reconnects=1)
        log.warning("RabbitMQ unavailable (%s); reconnecting in %.1f s", reason, delay)
        self._timers["reconnect"] = self._connector.call_later(delay, self._connect)

    # batches

    def _on_flush_timer(self) -> None:
        self._timers.pop("flush", None)
        self._flush()

    def _flush(self) -> None:
        self._cancel_timer("flush")
        channel = self._channel
        if not channel.messages and not channel.rejected:
            return
        batch = Batch(uuid.uuid4().hex, self._generation, tuple(channel.messages),
                      tuple(channel.rejected))
        self._metrics.add(consumed=len(channel.messages) + len(channel.rejected))
        channel.messages, channel.rejected, channel.measures = [], [], 0
        channel.in_writer += 1
        self._writer.submit(batch)

    def _on_writer_outcome(self, outcome: BatchOutcome) -> None:
        """Runs on the writer's thread: hand the outcome to the loop."""
        self._outcomes.put(outcome)
        self._connector.add_callback_threadsafe(self._drain_outcomes)

    def _on_writer_crash(self) -> None:
        """Runs on the writer's thread: stop consuming, and exit non-zero."""
        self._connector.add_callback_threadsafe(self._fail)

    def _fail(self) -> None:
        self._exit_code = 1
        self._channel.in_writer = 0  # nothing will come back from the writer: do not wait
        self._begin_stop()

    def _drain_outcomes(self) -> None:
        while True:
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                break
            if outcome.batch.generation != self._generation:
                continue  # its channel is gone, and its unstored messages with it
            self._channel.in_writer -= 1
            self._settle(outcome.stored + outcome.duplicates)
            for message, rejection in outcome.rejected:
                self._dead_letter(message.tag, message.body, message.properties, rejection)
        self._finish_stop_if_idle()

    def _settle(self, tags: tuple[int, ...]) -> None:
        settled = self._channel.settled
        settled.update(tags)
        unsettled = self._channel.unsettled
        last = None
        while unsettled and unsettled[0] in settled:
            last = unsettled.popleft()
            settled.discard(last)
        if last is not None:
            self._connector.ack(last)

    def _dead_letter(self, tag: int, body: bytes, properties: Any, rejection: Rejected) -> None:
        # Publishing a copy (with confirms) rather than nack(requeue=False) to a broker
        # dead-letter exchange: only a copy can carry the x-mymonit-reason header.
        log.info("dead-lettering message %d: %s", tag, rejection.header)
        sequence = self._connector.dead_letter(body, properties, rejection.header)
        if sequence is None:
            return  # the channel closed: unacked, the message comes back after the reconnect
        self._channel.dead[sequence] = (tag, body, properties, rejection)

    def _dead_letter_again(self, generation: int, entry: tuple[int, bytes, Any, Rejected]) -> None:
        if generation == self._generation and self._connector.is_open:
            self._dead_letter(*entry)

    # stopping

    def _begin_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("stopping: storing the batch in hand, then closing")
        self._writer.finish()
        if not self._connector.is_open:
            self._cancel_timer("reconnect")
            self._connector.close()
            if not self._connector.is_connected:
                self._connector.stop_loop()
            return
        self._connector.cancel()
        self._flush()
        self._timers["stop"] = self._connector.call_later(
            STOP_GRACE_SECONDS, self._on_stop_deadline
        )
        self._finish_stop_if_idle()

    def _finish_stop_if_idle(self) -> None:
        if self._stopping and not self._channel.in_writer and not self._channel.dead:
            self._connector.close()

    def _on_stop_deadline(self) -> None:
        self._timers.pop("stop", None)
        log.warning("stopping took too long; closing with batches still in hand")
        self._connector.close()

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            self._connector.cancel_timer(handle)
