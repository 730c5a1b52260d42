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
AUDIT_DATASET = "mymonit.audit"
SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"

# ECS event.type of a call that no caller classified, by HTTP method.
_TYPE_BY_METHOD = {
    "GET": "access",
    "HEAD": "access",
    "POST": "creation",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "deletion",
}
_DENIED_STATUSES = frozenset({401, 403})
# ECS event.category by source: a REST call, a consumed batch, an administrator's command.
_CATEGORY_BY_SOURCE = {"rest": "web", "amqp": "database", "cli": "iam"}
# Keys of ``details`` that a consumed batch may use instead of the batch fields.
_BATCH_KEYS = ("stored", "dead_lettered", "reasons")

_log = logging.getLogger(AUDIT_LOGGER)


@dataclass(frozen=True)
class AuditEvent:  # pylint: disable=too-many-instance-attributes  # the fixed event schema
    """What was done, by whom, on what, with which outcome, from where.

    ``actor_id`` is a staff id, never a name, email or Firebase uid. ``changes`` names the
    fields an administrative change touched, never their values. ``stored``,
    ``dead_lettered`` and ``reasons`` describe a consumed batch.
    """

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
    stored: int | None = None
    dead_lettered: int | None = None
    reasons: tuple[str, ...] = ()

    def to_ecs(self) -> dict[str, Any]:
        """Give the event as nested ECS fields (``event.action``, ``user.id``, ...)."""
        event: dict[str, Any] = {
            "event": {
                "kind": "event",
                "dataset": AUDIT_DATASET,
                "category": [_CATEGORY_BY_SOURCE.get(self.source, "database")],
                "action": self.action,
                "outcome": self.outcome,
                "type": self._types(),
            },
            "mymonit": {"source": self.source, "request_id": self.request_id},
        }
        if self.duration_ns is not None:
            event["event"]["duration"] = self.duration_ns
        if self.actor_id is not None:
            event["user"] = {"id": self.actor_id}
        if self.method is not None:
            event["http"] = {"request": {"method": self.method, "id": self.request_id}}
            if self.status_code is not None:
                event["http"]["response"] = {"status_code": self.status_code}
        if self.path is not None:
            event["url"] = {"path": self.path}
        event["mymonit"].update(self._mymonit_fields())
        return event

    def _types(self) -> list[str]:
        types = list(self.event_types)
        if not types:
            # A consumed batch stores measures: a creation, like a POST.
            default = "creation" if self.source == "amqp" else "info"
            types.append(_TYPE_BY_METHOD.get((self.method or "").upper(), default))
        if self.status_code in _DENIED_STATUSES and DENIED not in types:
            types.append(DENIED)
        return types

    def _mymonit_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.route is not None:
            fields["route"] = self.route
        if self.object_type is not None:
            fields["object"] = {"type": self.object_type, "id": self.object_id}
        if self.changes:
            fields["changes"] = list(self.changes)
        batch = self._batch()
        if batch:
            fields["batch"] = batch
        details = {key: value for key, value in self.details.items() if key not in batch}
        if details:
            fields["details"] = details
        return fields

    def _batch(self) -> dict[str, Any]:
        batch: dict[str, Any] = {
            "stored": self.stored,
            "dead_lettered": self.dead_lettered,
            "reasons": list(self.reasons) or None,
        }
        for key in _BATCH_KEYS:
            if batch[key] is None and key in self.details:
                value = self.details[key]
                if key == "reasons":
                    value = [value] if isinstance(value, str) else list(value)
                batch[key] = value
        return {key: value for key, value in batch.items() if value is not None}


class AuditLog:
    """Record audit events; never raises and never blocks on the network."""

    def record(self, event: AuditEvent) -> None:
        """Log ``event`` on the audit logger; handlers ship it from a background queue."""
        _log.info(
            "audit %s %s user=%s status=%s",
            event.action,
            event.outcome,
            event.actor_id or "-",
            event.status_code if event.status_code is not None else "-",
            extra={"ecs": event.to_ecs()},
            stacklevel=2,
        )
