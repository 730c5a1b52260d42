"""How the consumer reaches RabbitMQ, what it declares, and how it batches."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field


def default_connection_name() -> str:
    """Name this process's broker connection, so that an operator can find (or close) it."""
    return f"mymonit-consumer-{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class RabbitConfiguration:  # pylint: disable=too-many-instance-attributes  # settings table
    """The broker, the topology of the contract, and the consumer's limits.

    ``url`` is a host name or an ``amqp://`` / ``amqps://`` URL; ``ca_file`` is the
    certificate authority that signs the broker's certificate (amqps only).
    """

    url: str = "localhost"
    user: str = "guest"
    password: str = field(default="guest", repr=False)
    exchange: str = "mymonit"
    routing: str = "measures"
    queue: str = "measures"
    ca_file: str | None = None
    prefetch: int = 2000
    batch_size: int = 1000
    flush_seconds: float = 0.2
    reconnect_seconds: float = 300.0
    max_backoff_seconds: float = 30.0
    connection_name: str = field(default_factory=default_connection_name)

    @property
    def dead_letter_queue(self) -> str:
        """Name the queue that keeps messages which can never be stored."""
        return f"{self.queue}.dead"

    @property
    def dead_letter_exchange(self) -> str:
        """Name the exchange that dead letters are published to, bound to the dead queue.

        The app's broker user may publish there and nowhere else: not to the measures
        exchange, nor to the default exchange (containers/rabbitmq/definitions.json).
        """
        return f"{self.exchange}.dead"
