"""ExperimentResource: /experiments/ — all of them for an admin, their own for a scientist."""

from __future__ import annotations

from typing import Any

from flask import url_for

from my_monit.errors import InvalidArgument
from my_monit.rest.context import actor, admin_only, audited, container, note
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, respond, respond_page
from my_monit.rest.schemas import (
    ExperimentChangesSchema,
    ExperimentListQuerySchema,
    ExperimentSchema,
    experiment_json,
)

resource = ResourceBlueprint(
    "experiments",
    __name__,
    url_prefix="/experiments",
    description="Experiments whose measures MyMONIT stores.",
)
EXPERIMENT_ID = "<int(max=4294967295):experiment_id>"


@resource.route("/", methods=["GET"])
@audited("experiment.list", "experiment")
@resource.arguments(ExperimentListQuerySchema(), location="query")
@resource.response(200, ExperimentSchema(many=True), headers=NEXT_LINK)
def list_experiments(query: dict[str, Any]) -> Any:
    """List experiments by id: all for an admin, the associated ones for a scientist

    When more experiments follow, a `Link` header with rel="next" gives the next page.
    """
    page = (
        container()
        .experiment_service()
        .list_experiments(actor(), query["after"], query["limit"])
    )

    note().details["count"] = len(page.items)
    more = None if page.next_cursor is None else {"after": page.next_cursor}
    return respond_page([experiment_json(experiment) for experiment in page.items], more)


@resource.route("/", methods=["POST"])
@audited("experiment.create", "experiment")
@admin_only
@resource.arguments(ExperimentSchema())
@resource.response(201, ExperimentSchema)
@resource.alt_response(409, response="CONFLICT")
def create_experiment(body: dict[str, Any]) -> Any:
    """Create an experiment (admin); a taken name is a 409"""
    experiment = container().experiment_service().create_experiment(actor(), body["name"])

    note().object_id = str(experiment.experiment_id)
    note().changes = ("name",)
    location = url_for(".get_experiment", experiment_id=experiment.experiment_id)
    return respond(experiment_json(experiment), 201, {"Location": location})


@resource.route(f"/{EXPERIMENT_ID}", methods=["GET"])
@audited("experiment.read", "experiment")
@resource.response(200, ExperimentSchema)
@resource.alt_response(404, response="NOT_FOUND")
def get_experiment(experiment_id: int) -> Any:
    """Read an experiment (admin, or an associated scientist)"""
    experiment = container().experiment_service().get_experiment(actor(), experiment_id)
    return respond(experiment_json(experiment))


@resource.route(f"/{EXPERIMENT_ID}", methods=["PUT"])
@audited("experiment.update", "experiment")
@admin_only
@resource.arguments(ExperimentChangesSchema())
@resource.response(200, ExperimentSchema)
@resource.alt_response(404, response="NOT_FOUND")
@resource.alt_response(409, response="CONFLICT")
def update_experiment(body: dict[str, Any], experiment_id: int) -> Any:
    """Rename an experiment (admin); a taken name is a 409"""
    if body.get("experiment_id", experiment_id) != experiment_id:
        raise InvalidArgument("experiment", "experiment_id", "must be the id of the path")

    experiment = (
        container().experiment_service().update_experiment(actor(), experiment_id, body["name"])
    )

    note().changes = ("name",)
    return respond(experiment_json(experiment))
