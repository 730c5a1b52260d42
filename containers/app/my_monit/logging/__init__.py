"""Faceted logging, audit events and the Logstash sink."""

from my_monit.logging.facets import (
    MASK,
    Faceted,
    do_not_log,
    in_logging_context,
    is_logging,
    logging_context,
    outside_logging_context,
)

__all__ = [
    "MASK",
    "Faceted",
    "do_not_log",
    "in_logging_context",
    "is_logging",
    "logging_context",
    "outside_logging_context",
]
