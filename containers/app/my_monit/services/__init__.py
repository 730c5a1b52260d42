"""Business rules: who may do what, enforced before storage is touched."""

from my_monit.services.experiment_service import ExperimentService
from my_monit.services.measures_service import MeasuresService
from my_monit.services.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, check_limit
from my_monit.services.user_service import UserService

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ExperimentService",
    "MeasuresService",
    "Page",
    "UserService",
    "check_limit",
]
