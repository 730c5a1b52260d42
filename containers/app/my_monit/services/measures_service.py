"""Measures and measure types, read by the scientists of each experiment."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from my_monit.errors import InvalidArgument
from my_monit.model import MeasureType, User
from my_monit.services.experiment_service import ExperimentService
from my_monit.services.paging import DEFAULT_LIMIT, Page, check_limit, require_admin
from my_monit.storage import MeasureCursor, MeasureRow, Storage
from my_monit.storage.storage import MeasureQuery


# Rows read per query of an export: a connection is taken from the pool for each chunk and
# given back before the rows are sent, so a slow reader holds no connection.
EXPORT_CHUNK = 5000


class MeasuresService:
    """Read measures page by page, newest first; list and add measure types."""

    def __init__(self, storage: Storage, experiment_service: ExperimentService) -> None:
        self._storage = storage
        self._experiments = experiment_service

    def list_measures(  # pylint: disable=too-many-arguments  # one per filter of the route
        self,
        actor: User,
        experiment_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        measure_type: str | None = None,
        limit: int = 1000,
        before: MeasureCursor | None = None,
    ) -> Page[MeasureRow, MeasureCursor]:
        """Read an experiment's measures, newest first, for an admin or associated scientist."""
        check_limit(limit)
        if since is not None and until is not None and since > until:
            raise InvalidArgument("query", "from", "must not be after 'to'")
        query = MeasureQuery(
            experiment_id=experiment_id,
            actor_id=actor.user_id,
            see_all=actor.is_admin,
            limit=limit + 1,
            since=since,
            until=until,
            measure_type=measure_type,
            before=before,
        )
        rows = self._storage.list_measures(query)
        if not rows:
            # The query tests the association itself, so rows prove access. With none,
            # tell a missing experiment (404) or a scientist not associated with it (403)
            # from an empty page: the queries of get_experiment, only for empty pages.
            self._experiments.get_experiment(actor, experiment_id)
        if len(rows) <= limit:
            return Page(rows, None)
        last = rows[limit - 1]
        return Page(rows[:limit], MeasureCursor(last.timestamp, last.measure_id))

    def export_measures(  # pylint: disable=too-many-arguments  # one per filter of the route
        self,
        actor: User,
        experiment_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        measure_type: str | None = None,
        chunk: int | None = None,
    ) -> Iterator[MeasureRow]:
        """Give every matching measure, newest first, read chunk by chunk.

        Access is checked now, before the first row is given: NotFound and Forbidden are
        raised here, not while the rows are being sent.
        """
        filters: dict[str, Any] = {
            "since": since,
            "until": until,
            "measure_type": measure_type,
            "limit": chunk or EXPORT_CHUNK,
        }
        first = self.list_measures(actor, experiment_id, **filters)
        return self._export(actor, experiment_id, first, filters)

    def _export(
        self,
        actor: User,
        experiment_id: int,
        page: Page[MeasureRow, MeasureCursor],
        filters: dict[str, Any],
    ) -> Iterator[MeasureRow]:
        while True:
            yield from page.items
            if page.next_cursor is None:
                return
            # Each chunk checks access again: an association removed meanwhile ends it.
            page = self.list_measures(actor, experiment_id, before=page.next_cursor, **filters)

    def list_measure_types(
        self, after: str = "", limit: int = DEFAULT_LIMIT
    ) -> Page[MeasureType, str]:
        """List measure types by name, ``limit`` after ``after``; any signed-in user may."""
        check_limit(limit)
        rows = self._storage.list_measure_types(after, limit + 1)
        more = len(rows) > limit
        return Page(rows[:limit], rows[limit - 1].name if more else None)

    def create_measure_type(self, actor: User, measure_type: MeasureType) -> MeasureType:
        """Add a measure type; admins only; Conflict if the name is taken."""
        require_admin(actor, "create measure type")
        self._storage.insert_measure_type(measure_type)
        return measure_type
