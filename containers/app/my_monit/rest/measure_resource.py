"""MeasureResource: /measures/{experiment_id} — newest first, filtered, page by page."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator

from flask import current_app, stream_with_context

from my_monit.rest.context import actor, audited, container, note
from my_monit.rest.experiment_resource import EXPERIMENT_ID
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, respond_page
from my_monit.rest.schemas import (
    MeasureFilterSchema,
    MeasureQuerySchema,
    MeasureSchema,
    encode_cursor,
    measure_json,
)
from my_monit.storage import MeasureRow

CSV_COLUMNS = ("timestamp", "experiment", "measure_type", "value")
# Rows are sent in pieces of about this many characters.
CSV_PIECE = 64 * 1024

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


@resource.route(f"/{EXPERIMENT_ID}/export", methods=["GET"])
@audited("measures.export", "experiment")
@resource.arguments(MeasureFilterSchema(), location="query")
@resource.response(
    200,
    content_type="text/csv",
    description="every matching measure, newest first, as CSV with a header line",
)
@resource.alt_response(404, response="NOT_FOUND")
def export_measures(query: dict[str, Any], experiment_id: int) -> Any:
    """Export all of an experiment's measures as CSV (admin, or an associated scientist)

    The same filters as the list (`from`, `to`, `type`), with no page size: the file is
    streamed as the database is read, chunk by chunk, however many measures match.
    Columns: timestamp (ISO 8601 UTC), experiment, measure_type, value.
    """
    rows = (
        container()
        .measures_service()
        .export_measures(
            actor(),
            experiment_id,
            since=query["since"],
            until=query["until"],
            measure_type=query["measure_type"],
        )
    )

    note().details["format"] = "csv"
    filename = f"experiment-{experiment_id}-measures.csv"
    return current_app.response_class(
        stream_with_context(_csv_pieces(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_pieces(rows: Iterable[MeasureRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        measure = measure_json(row)
        writer.writerow([measure[column] for column in CSV_COLUMNS])
        if buffer.tell() >= CSV_PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
