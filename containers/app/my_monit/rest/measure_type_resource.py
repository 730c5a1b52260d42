"""MeasureTypeResource: /measure-types/ — the units that measures may have."""

from __future__ import annotations

from typing import Any

from my_monit.model import MeasureType
from my_monit.rest.context import actor, admin_only, audited, container, note
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, respond, respond_page
from my_monit.rest.schemas import MeasureTypeListQuerySchema, MeasureTypeSchema, measure_type_json

resource = ResourceBlueprint(
    "measure_types",
    __name__,
    url_prefix="/measure-types",
    description="Measure types: name, symbol and quantity, such as hertz (Hz) for frequency.",
)


@resource.route("/", methods=["GET"])
@audited("measure_type.list", "measure_type")
@resource.arguments(MeasureTypeListQuerySchema(), location="query")
@resource.response(200, MeasureTypeSchema(many=True), headers=NEXT_LINK)
def list_measure_types(query: dict[str, Any]) -> Any:
    """List the measure types by name (anyone signed in)

    When more measure types follow, a `Link` header with rel="next" gives the next page.
    """
    page = container().measures_service().list_measure_types(query["after"], query["limit"])

    note().details["count"] = len(page.items)
    more = None if page.next_cursor is None else {"after": page.next_cursor}
    return respond_page([measure_type_json(measure_type) for measure_type in page.items], more)


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
