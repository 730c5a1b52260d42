"""MeasureTypeResource: /measure-types/ — the units that measures may have."""

from __future__ import annotations

from typing import Any

from my_monit.model import MeasureType
from my_monit.rest.context import actor, admin_only, audited, container, note
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import respond
from my_monit.rest.schemas import MeasureTypeSchema, measure_type_json

resource = ResourceBlueprint(
    "measure_types",
    __name__,
    url_prefix="/measure-types",
    description="Measure types: name, symbol and quantity, such as hertz (Hz) for frequency.",
)


@resource.route("/", methods=["GET"])
@audited("measure_type.list", "measure_type")
@resource.response(200, MeasureTypeSchema(many=True))
def list_measure_types() -> Any:
    """List the measure types by name (anyone signed in)"""
    measure_types = container().measures_service().list_measure_types()

    note().details["count"] = len(measure_types)
    return respond([measure_type_json(measure_type) for measure_type in measure_types])


@resource.route("/", methods=["POST"])
@audited("measure_type.create", "measure_type")
@admin_only
@resource.arguments(MeasureTypeSchema())
@resource.response(201, MeasureTypeSchema)
@resource.alt_response(409, response="CONFLICT")
def create_measure_type(body: dict[str, Any]) -> Any:
    """Add a measure type (admin); a taken name is a 409"""
    measure_type = (
        container().measures_service().create_measure_type(actor(), MeasureType(**body))
    )

    note().object_id = measure_type.name
    note().changes = ("name", "symbol", "quantity")
    return respond(measure_type_json(measure_type), 201)
