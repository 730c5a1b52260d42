"""HealthResource: /healthz and /readyz, for probes; no token needed."""

from __future__ import annotations

from typing import Any

from my_monit.rest.context import container, public
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import respond
from my_monit.rest.schemas import StatusSchema

resource = ResourceBlueprint("health", __name__, description="Probes for orchestrators.")


@resource.route("/healthz", methods=["GET"])
@public
@resource.doc(security=[])
@resource.response(200, StatusSchema)
def healthz() -> Any:
    """Tell that the process is alive"""
    return respond({"status": "ok"})


@resource.route("/readyz", methods=["GET"])
@public
@resource.doc(security=[])
@resource.response(200, StatusSchema)
@resource.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz() -> Any:
    """Tell whether the database answers (503 if not)"""
    container().storage().ping()
    return respond({"status": "ready"})
