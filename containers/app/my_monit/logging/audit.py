"""Audit events: one per REST call, consumed batch and administrative change.

Events are records of the ``my_monit.audit`` logger, carrying their fields in the
record's ``ecs`` attribute with Elastic Common Schema names; the Logstash handler ships
them as JSON. The schema is documented in docs/audit.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

AUDIT_LOGGER = "my_monit.audit"
_log = logging.getLogger(AUDIT_LOGGER)


@dataclass(frozen=True)
class AuditEvent:  # pylint: disable=too-many-instance-attributes  # the fixed event schema
    """What was done, by whom, on what, with which outcome, from where."""

    action: str
    outcome: str
    source: str
    request_id: str
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    event_types: tuple[str, ...] = ()
    method: str | None = None
    path: str | None = None
    route: str | None = None
    status_code: int | None = None
    duration_ns: int | None = None
    changes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_ecs(self) -> dict[str, Any]:
        """Give the event as nested ECS fields (``event.action``, ``user.id``, ...)."""
        event: dict[str, Any] = {
            "event": {"kind": "event", "action": self.action, "outcome": self.outcome},
            "mymonit": {"source": self.source, "request_id": self.request_id},
        }
        if self.event_types:
            event["event"]["type"] = list(self.event_types)
        if self.duration_ns is not None:
            event["event"]["duration"] = self.duration_ns
        if self.actor_id is not None:
            event["user"] = {"id": self.actor_id}
        if self.method is not None:
            event["http"] = {
                "request": {"method": self.method, "id": self.request_id},
                "response": {"status_code": self.status_code},
            }
        if self.path is not None:
            event["url"] = {"path": self.path}
        if self.route is not None:
            event["mymonit"]["route"] = self.route
        if self.object_type is not None:
            event["mymonit"]["object"] = {"type": self.object_type, "id": self.object_id}
        if self.changes:
            event["mymonit"]["changes"] = list(self.changes)
        if self.details:
            event["mymonit"]["details"] = dict(self.details)
        return event


class AuditLog:
    """Record audit events; never raises and never blocks on the network."""

    def record(self, event: AuditEvent) -> None:
        """Log ``event`` on the audit logger; handlers ship it from a background queue."""
        _log.info("audit %s %s", event.action, event.outcome, extra={"ecs": event.to_ecs()})
