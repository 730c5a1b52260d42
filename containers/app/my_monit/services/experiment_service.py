"""Experiments and the scientists associated with them."""

from __future__ import annotations

from my_monit.errors import Forbidden, InvalidArgument, NotFound
from my_monit.model import Experiment, Role, User
from my_monit.services.paging import DEFAULT_LIMIT, Page, check_limit, require_admin
from my_monit.storage import Storage


class ExperimentService:
    """Create, rename and list experiments, and manage their associations."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def list_experiments(
        self, actor: User, after: int = 0, limit: int = 1000
    ) -> Page[Experiment, int]:
        """List experiments by id: all for an admin, the associated ones for a scientist."""
        check_limit(limit)
        if actor.is_admin:
            rows = self._storage.list_experiments(after, limit + 1)
        else:
            rows = self._storage.list_user_experiments(actor.user_id, after, limit + 1)
        more = len(rows) > limit
        return Page(rows[:limit], rows[limit - 1].experiment_id if more else None)

    def create_experiment(self, actor: User, name: str) -> Experiment:
        """Store a new experiment; admins only; Conflict if the name is taken."""
        require_admin(actor, "create experiment")
        return self._storage.insert_experiment(Experiment(None, name))

    def get_experiment(self, actor: User, experiment_id: int) -> Experiment:
        """Read an experiment: an admin any, a scientist an associated one."""
        experiment = self._existing(experiment_id)
        self.require_reader(actor, experiment_id)
        return experiment

    def update_experiment(self, actor: User, experiment_id: int, name: str) -> Experiment:
        """Rename an experiment; admins only."""
        require_admin(actor, "update experiment")
        experiment = Experiment(experiment_id, name)
        self._storage.update_experiment(experiment)
        return experiment

    def require_reader(self, actor: User, experiment_id: int) -> None:
        """Raise Forbidden unless ``actor`` may read this experiment and its measures."""
        if actor.is_admin:
            return
        if not self._storage.is_associated(experiment_id, actor.user_id):
            raise Forbidden("read experiment", experiment_id, "not associated with it")

    def list_associations(
        self, actor: User, after: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[tuple[int, list[User]], int]:
        """Give up to ``limit`` experiments after ``after`` with their scientists; admins only."""
        require_admin(actor, "list associations")
        check_limit(limit)
        associations: dict[int, list[User]] = {}
        for experiment_id, user in self._storage.list_associations(after, limit + 1):
            associations.setdefault(experiment_id, []).append(user)
        items = list(associations.items())
        more = len(items) > limit
        return Page(items[:limit], items[limit - 1][0] if more else None)

    def associate(self, actor: User, experiment_id: int, scientist_id: str) -> None:
        """Give a scientist access to an experiment; admins only."""
        require_admin(actor, "associate scientist")
        self._existing(experiment_id)
        user = self._storage.get_user(scientist_id)
        if user is None or user.erased:
            raise NotFound("user", scientist_id)
        if user.role is not Role.SCIENTIST:
            raise InvalidArgument("association", scientist_id, "the user is not a SCIENTIST")
        self._storage.insert_association(experiment_id, scientist_id)

    def dissociate(self, actor: User, experiment_id: int, scientist_id: str) -> None:
        """Take a scientist's access to an experiment away; admins only."""
        require_admin(actor, "dissociate scientist")
        self._storage.delete_association(experiment_id, scientist_id)

    def _existing(self, experiment_id: int) -> Experiment:
        experiment = self._storage.get_experiment(experiment_id)
        if experiment is None:
            raise NotFound("experiment", experiment_id)
        return experiment
