"""The dependency-injection container: builds every component from one Config."""

from __future__ import annotations

from dependency_injector import containers, providers

from my_monit.config import Config
from my_monit.services import ExperimentService, MeasuresService, UserService
from my_monit.storage import Storage, StorageConfiguration, StorageConnector


class Container(containers.DeclarativeContainer):
    """Wire configuration, storage and services; tests replace parts with ``.override()``."""

    config = providers.Configuration(strict=True)

    storage_configuration = providers.Singleton(
        StorageConfiguration,
        host=config.db_host,
        port=config.db_port,
        user=config.db_user,
        password=config.db_password,
        database=config.db_database,
        pool_size=config.db_pool_size,
    )
    storage_connector = providers.Singleton(StorageConnector, storage_configuration)
    storage = providers.Singleton(Storage, storage_connector=storage_connector)

    user_service = providers.Singleton(UserService, storage=storage)
    experiment_service = providers.Singleton(ExperimentService, storage=storage)
    measures_service = providers.Singleton(
        MeasuresService, storage=storage, experiment_service=experiment_service
    )


def create_container(config: Config | None = None) -> Container:
    """Build a container configured from ``config`` (by default, from the environment)."""
    container = Container()
    container.config.from_dict((config or Config.from_env()).as_dict())
    return container
