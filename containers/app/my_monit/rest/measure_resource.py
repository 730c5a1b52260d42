"""MeasureResource: /measures/{experiment_id} — newest first, filtered, page by page."""

from __future__ import annotations

from typing import Any

from my_monit.rest.context import actor, audited, container, note
from my_monit.rest.experiment_resource import EXPERIMENT_ID
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, respond_page
from my_monit.rest.schemas import MeasureQuerySchema, MeasureSchema, encode_cursor, measure_json

resource = ResourceBlueprint(
    "measures",
    __name__,
    url_prefix="/measures",
    description="Measures of an experiment, for its admins and associated scientists.",
)


@resource.route(f"/{EXPERIMENT_ID}", methods=["GET"])
@audited("measures.read", "experiment")
@resource.arguments(MeasureQuerySchema(), location="query")
@resource.response(200, MeasureSchema(many=True), headers=NEXT_LINK)
@resource.alt_response(404, response="NOT_FOUND")
def list_measures(query: dict[str, Any], experiment_id: int) -> Any:
    """Read an experiment's measures, newest first (admin, or an associated scientist)

    `from` and `to` bound the time (inclusive; ISO 8601 with a zone, or unix seconds),
    `type` keeps one measure type. When more measures match, a `Link` header with
    rel="next" gives the next page; pages stay stable while new measures arrive.
    """
    page = (
        container()
        .measures_service()
        .list_measures(
            actor(),
            experiment_id,
            since=query["since"],
            until=query["until"],
            measure_type=query["measure_type"],
            limit=query["limit"],
            before=query["before"],
        )
    )

    note().details["count"] = len(page.items)
    more = None if page.next_cursor is None else {"before": encode_cursor(page.next_cursor)}
    return respond_page([measure_json(row) for row in page.items], more)
