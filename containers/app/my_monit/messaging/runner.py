"""``mymonit consume``: the AMQP consumer with its health endpoint, until SIGTERM."""

from __future__ import annotations

import logging
import signal
from typing import Any

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.messaging.health import HealthServer

log = logging.getLogger(__name__)


def consume(config: Config) -> int:
    """Consume measures until SIGTERM or SIGINT (exit 0) or until the broker stays away (1)."""
    # pika logs every step of every connection at INFO; its warnings and errors still show.
    logging.getLogger("pika").setLevel(logging.WARNING)
    container = create_container(config)
    listener = container.rabbit_listener()
    health = HealthServer(config.health_port, container.metrics(), listener.readiness)
    health.start()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received signal %d", signum)
        listener.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = listener.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        health.stop()
        container.storage_connector().close()
    log.info("consumer stopped with exit code %d", code)
    return code
