"""Logging set-up, once per process at start-up: masked console lines and Logstash events."""

from __future__ import annotations

import logging
import time
from typing import TextIO

from my_monit.config import Config, ConfigurationError
from my_monit.logging.audit import AUDIT_LOGGER
from my_monit.logging.console import ConsoleHandler, console_handler
from my_monit.logging.logstash import LogstashConfiguration, LogstashHandler


def configure_logging(config: Config, stream: TextIO | None = None) -> None:
    """Send records at LOG_LEVEL, and every audit event, to the console and to Logstash.

    Safe to call again, for instance in each gunicorn worker after the fork: the handlers
    it installed before are closed and replaced, and handlers of others (pytest's) stay.
    An empty LOGSTASH_HOST leaves the console only.
    """
    level = logging.getLevelName(config.log_level)
    if not isinstance(level, int):
        raise ConfigurationError(f"LOG_LEVEL: unknown level {config.log_level}")

    # Replace what an earlier call installed.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, (ConsoleHandler, LogstashHandler)):
            root.removeHandler(handler)
            handler.close()

    # The console shows LOG_LEVEL and up; Logstash also gets every audit event.
    root.addHandler(console_handler(stream, level))
    if config.logstash_host:
        root.addHandler(
            LogstashHandler(LogstashConfiguration(config.logstash_host, config.logstash_port))
        )
    root.setLevel(level)
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
    logging.captureWarnings(True)


def flush_logging(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds in all for queued events to reach Logstash.

    For a short-lived command, before it exits: the events it logged would otherwise be
    given only the handler's brief close time. Never waits longer, even when Logstash is
    away; tells whether everything went out.
    """
    deadline = time.monotonic() + timeout
    flushed = True
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogstashHandler):
            flushed = handler.flush(max(0.0, deadline - time.monotonic())) and flushed
    return flushed
