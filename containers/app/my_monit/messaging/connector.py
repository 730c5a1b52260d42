"""All of the consumer's broker I/O: one pika SelectConnection at a time, on one I/O loop.

The listener sees no pika object but the opaque message properties: the connector calls
its ``on_<event>`` methods and offers acks, dead-letter publishes, timers and a
thread-safe wake-up. Every method runs on the I/O loop's thread, but
``add_callback_threadsafe``, which other threads use to hand work to that loop.
"""

from __future__ import annotations

import collections
import logging
import ssl
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

import pika
from pika.adapters.select_connection import IOLoop
from pika.exchange_type import ExchangeType

from my_monit.errors import InvalidArgument
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.message import REASON_HEADER

log = logging.getLogger(__name__)

# Properties a republished dead letter keeps. user_id is left out (the broker checks it
# against our own login and would close the channel), expiration too (a dead letter
# must not expire in the dead queue).
_KEPT_PROPERTIES = (
    "content_type", "content_encoding", "priority", "correlation_id", "reply_to",
    "message_id", "timestamp", "type", "app_id",
)


class ConnectorEvents(Protocol):
    """What the connector tells its listener."""

    def on_consuming(self) -> None:
        """The topology is declared and messages flow."""

    def on_delivery(self, tag: int, properties: Any, body: bytes) -> None:
        """A message arrived."""

    def on_dead_letter_confirmed(self, sequence: int, confirmed: bool) -> None:
        """The broker took (or refused) a dead letter."""

    def on_disconnected(self, reason: str) -> None:
        """The connection failed to open or closed; nothing sent on it will be settled."""


def connection_parameters(configuration: RabbitConfiguration) -> pika.ConnectionParameters:
    """Build pika's parameters from a host name or an amqp:// or amqps:// URL."""
    url = configuration.url
    if "://" not in url:
        url = f"amqp://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise InvalidArgument("RABBIT_URL", parts.scheme, "must be a host, amqp:// or amqps://")
    parameters = pika.URLParameters(url)
    if parts.username is None:
        parameters.credentials = pika.PlainCredentials(
            configuration.user, configuration.password
        )
    if parts.scheme == "amqps":
        try:
            context = ssl.create_default_context(cafile=configuration.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise InvalidArgument("RABBIT_CA_FILE", None, "is not a readable CA file") from error
        parameters.ssl_options = pika.SSLOptions(context, server_hostname=parts.hostname)
    elif configuration.ca_file:
        log.warning("RABBIT_CA_FILE is ignored: RABBIT_URL is not an amqps:// URL")
    parameters.client_properties = {"connection_name": configuration.connection_name}
    return parameters


class RabbitConnector:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    # (one attribute per piece of connection state; pika calls the public on_<event> methods)
    """Open connections, declare the contract's topology, consume, ack and dead-letter."""

    def __init__(self, configuration: RabbitConfiguration) -> None:
        self.configuration = configuration
        self._ioloop = IOLoop()
        self._events: ConnectorEvents | None = None
        self._connection: pika.SelectConnection | None = None
        self._channel: Any = None
        self._consumer_tag: str | None = None
        self._published = 0
        self._unconfirmed: collections.deque[int] = collections.deque()
        self._closing = False

    # the I/O loop

    def run(self) -> None:
        """Run the I/O loop until ``stop_loop``."""
        self._ioloop.start()

    def stop_loop(self) -> None:
        """Make ``run`` return."""
        self._ioloop.stop()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Any:
        """Call ``callback`` on the loop after ``delay`` seconds; give a handle to cancel."""
        return self._ioloop.call_later(delay, callback)

    def cancel_timer(self, handle: Any) -> None:
        """Cancel a ``call_later``."""
        self._ioloop.remove_timeout(handle)

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Have the loop call ``callback`` soon; the one method other threads may call."""
        self._ioloop.add_callback_threadsafe(callback)

    # connection

    def connect(self, events: ConnectorEvents) -> None:
        """Open a connection; events follow on the loop."""
        self._events = events
        self._closing = False
        log.info("connecting to RabbitMQ as %s", self.configuration.connection_name)
        self._connection = pika.SelectConnection(
            parameters=connection_parameters(self.configuration),
            on_open_callback=self.on_connection_open,
            on_open_error_callback=self.on_connection_open_error,
            on_close_callback=self.on_connection_closed,
            custom_ioloop=self._ioloop,
        )

    @property
    def is_open(self) -> bool:
        """Tell whether the consuming channel is open."""
        return self._channel is not None and self._channel.is_open

    @property
    def is_connected(self) -> bool:
        """Tell whether a connection is open or opening (an ``on_disconnected`` will follow)."""
        return self._connection is not None and not self._connection.is_closed

    def close(self) -> None:
        """Close the connection (an ``on_disconnected`` follows)."""
        self._closing = True
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            log.info("closing the RabbitMQ connection")
            connection.close()

    def on_connection_open(self, connection: pika.SelectConnection) -> None:
        """Open the channel that consumes and publishes dead letters."""
        connection.channel(on_open_callback=self.on_channel_open)

    def on_connection_open_error(self, _connection: Any, error: BaseException) -> None:
        """Report a failed connection attempt."""
        self._connection = None
        self._notify_disconnected(f"connection failed: {error!r}")

    def on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        """Report a closed connection; unacked messages go back to the queue."""
        self._connection = None
        self._channel = None
        self._notify_disconnected(f"connection closed: {reason!r}")

    def _notify_disconnected(self, reason: str) -> None:
        self._unconfirmed.clear()
        if self._events is not None:
            self._events.on_disconnected(reason)

    # topology

    def on_channel_open(self, channel: Any) -> None:
        """Declare the exchange first."""
        self._channel = channel
        self._published = 0
        self._unconfirmed.clear()
        channel.add_on_close_callback(self.on_channel_closed)
        channel.add_on_cancel_callback(self.on_consumer_cancelled)
        channel.add_on_return_callback(self.on_message_returned)
        channel.exchange_declare(
            exchange=self.configuration.exchange,
            exchange_type=ExchangeType.direct,
            durable=True,
            callback=self.on_exchange_declareok,
        )

    def on_exchange_declareok(self, _frame: Any) -> None:
        """Declare the measures queue."""
        self._channel.queue_declare(
            queue=self.configuration.queue, durable=True, callback=self.on_queue_declareok
        )

    def on_queue_declareok(self, _frame: Any) -> None:
        """Declare the dead-letter queue beside it."""
        self._channel.queue_declare(
            queue=self.configuration.dead_letter_queue,
            durable=True,
            callback=self.on_dead_queue_declareok,
        )

    def on_dead_queue_declareok(self, _frame: Any) -> None:
        """Declare the dead-letter exchange."""
        self._channel.exchange_declare(
            exchange=self.configuration.dead_letter_exchange,
            exchange_type=ExchangeType.direct,
            durable=True,
            callback=self.on_dead_exchange_declareok,
        )

    def on_dead_exchange_declareok(self, _frame: Any) -> None:
        """Bind the dead-letter queue to it, by the queue's own name."""
        self._channel.queue_bind(
            self.configuration.dead_letter_queue,
            self.configuration.dead_letter_exchange,
            routing_key=self.configuration.dead_letter_queue,
            callback=self.on_dead_bindok,
        )

    def on_dead_bindok(self, _frame: Any) -> None:
        """Bind the measures queue to the exchange."""
        self._channel.queue_bind(
            self.configuration.queue,
            self.configuration.exchange,
            routing_key=self.configuration.routing,
            callback=self.on_bindok,
        )

    def on_bindok(self, _frame: Any) -> None:
        """Ask for publisher confirms, for dead letters."""
        self._channel.confirm_delivery(
            ack_nack_callback=self.on_publish_confirmed, callback=self.on_confirm_selectok
        )

    def on_confirm_selectok(self, _frame: Any) -> None:
        """Bound the number of unacknowledged messages in flight."""
        self._channel.basic_qos(
            prefetch_count=self.configuration.prefetch, callback=self.on_basic_qos_ok
        )

    def on_basic_qos_ok(self, _frame: Any) -> None:
        """Start consuming with manual acks."""
        self._consumer_tag = self._channel.basic_consume(
            self.configuration.queue, self.on_message, callback=self.on_consume_ok
        )

    def on_consume_ok(self, _frame: Any) -> None:
        """Tell the listener that messages flow."""
        log.info("consuming from queue %s", self.configuration.queue)
        if self._events is not None:
            self._events.on_consuming()

    # consuming

    def on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Hand a delivery to the listener."""
        self._events.on_delivery(method.delivery_tag, properties, body)  # type: ignore[union-attr]

    def ack(self, tag: int) -> None:
        """Acknowledge every delivery up to and including ``tag``."""
        if self.is_open:
            self._channel.basic_ack(delivery_tag=tag, multiple=True)

    def cancel(self) -> None:
        """Stop the broker from delivering more messages."""
        if self.is_open and self._consumer_tag is not None:
            self._channel.basic_cancel(self._consumer_tag)
            self._consumer_tag = None

    def on_consumer_cancelled(self, _frame: Any) -> None:
        """The broker cancelled us (the queue was deleted): reconnect and declare again."""
        log.warning("RabbitMQ cancelled the consumer of queue %s", self.configuration.queue)
        self._consumer_tag = None
        self._close_unexpectedly()

    def on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        """A channel closes only on an error (or with its connection): reconnect."""
        self._channel = None
        if not self._closing:
            log.warning("RabbitMQ closed the channel: %r", reason)
        self._close_unexpectedly()

    def _close_unexpectedly(self) -> None:
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            connection.close()

    # dead letters

    def dead_letter(self, body: bytes, properties: Any, reason: str) -> int | None:
        """Publish a message to the dead-letter queue; give the sequence to await a confirm.

        Gives None when the channel has closed meanwhile: the message was not acked, so the
        broker delivers it again after the reconnect.
        """
        if not self.is_open:
            return None
        headers = dict(getattr(properties, "headers", None) or {})
        headers[REASON_HEADER] = reason
        kept = {name: getattr(properties, name, None) for name in _KEPT_PROPERTIES}
        self._channel.basic_publish(
            exchange=self.configuration.dead_letter_exchange,
            routing_key=self.configuration.dead_letter_queue,
            body=body,
            properties=pika.BasicProperties(headers=headers, delivery_mode=2, **kept),
            mandatory=True,
        )
        self._published += 1
        self._unconfirmed.append(self._published)
        return self._published

    def on_publish_confirmed(self, frame: Any) -> None:
        """Report broker acks (or nacks) of dead letters, one or several at a time."""
        method = frame.method
        confirmed = isinstance(method, pika.spec.Basic.Ack)
        done = []
        while self._unconfirmed and (
            self._unconfirmed[0] <= method.delivery_tag if method.multiple
            else self._unconfirmed[0] == method.delivery_tag
        ):
            done.append(self._unconfirmed.popleft())
        if not method.multiple and not done and method.delivery_tag in self._unconfirmed:
            self._unconfirmed.remove(method.delivery_tag)
            done.append(method.delivery_tag)
        for sequence in done:
            self._events.on_dead_letter_confirmed(sequence, confirmed)  # type: ignore[union-attr]

    def on_message_returned(self, *_: Any) -> None:
        """A dead letter found no queue (someone deleted it): reconnect, which declares it.

        The broker's ack for that publish follows the return, so the connection is closed
        before it can settle the original message.
        """
        log.error("the dead-letter queue %s is missing", self.configuration.dead_letter_queue)
        self._unconfirmed.clear()
        self._close_unexpectedly()
