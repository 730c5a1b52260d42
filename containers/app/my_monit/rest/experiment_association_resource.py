"""ExperimentAssociationResource: /scientists-experiments/ — who may read which experiment."""

from __future__ import annotations

from typing import Any

from my_monit.rest.context import actor, admin_only, audited, container, note
from my_monit.rest.experiment_resource import EXPERIMENT_ID
from my_monit.rest.openapi import ResourceBlueprint
from my_monit.rest.responses import NEXT_LINK, no_content, respond, respond_page
from my_monit.rest.schemas import AssociationSchema, ExperimentListQuerySchema, user_json

resource = ResourceBlueprint(
    "associations",
    __name__,
    url_prefix="/scientists-experiments",
    description="Associations of scientists with experiments: they may read its measures.",
)
ASSOCIATION = f"/{EXPERIMENT_ID}/<staff_id:scientist_id>"


@resource.route("/", methods=["GET"])
@audited("association.list", "association")
@admin_only
@resource.arguments(ExperimentListQuerySchema(), location="query")
@resource.response(
    200,
    {
        "type": "object",
        "additionalProperties": {"$ref": "#/components/schemas/AssociatedUsers"},
    },
    description='The scientists of each experiment: `{"<experiment_id>": {"users": [...]}}`',
    headers=NEXT_LINK,
)
def list_associations(query: dict[str, Any]) -> Any:
    """List the scientists associated with each experiment, by experiment id (admin)

    `limit` counts experiments. When more experiments follow, a `Link` header with
    rel="next" gives the next page.
    """
    page = (
        container()
        .experiment_service()
        .list_associations(actor(), query["after"], query["limit"])
    )

    note().details["count"] = sum(len(users) for _, users in page.items)
    more = None if page.next_cursor is None else {"after": page.next_cursor}
    associations = {
        str(experiment_id): {"users": [user_json(user) for user in users]}
        for experiment_id, users in page.items
    }
    return respond_page(associations, more)


@resource.route(ASSOCIATION, methods=["POST"])
@audited("association.create", "association")
@admin_only
@resource.response(201, AssociationSchema)
@resource.alt_response(400, response="BAD_REQUEST", description="The user is no SCIENTIST")
@resource.alt_response(404, response="NOT_FOUND")
@resource.alt_response(409, response="CONFLICT", description="They are associated already")
def associate(experiment_id: int, scientist_id: str) -> Any:
    """Associate a scientist with an experiment (admin)"""
    container().experiment_service().associate(actor(), experiment_id, scientist_id)

    note().changes = ("scientist_id",)
    return respond({"experiment_id": experiment_id, "scientist_id": scientist_id}, 201)


@resource.route(ASSOCIATION, methods=["DELETE"])
@audited("association.delete", "association")
@admin_only
@resource.response(204)
@resource.alt_response(404, response="NOT_FOUND")
def dissociate(experiment_id: int, scientist_id: str) -> Any:
    """Take a scientist's access to an experiment away (admin)"""
    container().experiment_service().dissociate(actor(), experiment_id, scientist_id)

    note().changes = ("scientist_id",)
    return no_content()
