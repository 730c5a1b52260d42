"""Faceted logging, audit events and the Logstash sink."""

from my_monit.logging.facets import MASK, do_not_log, in_logging_context, is_logging

__all__ = ["MASK", "do_not_log", "in_logging_context", "is_logging"]
