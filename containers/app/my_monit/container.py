"""The dependency-injection container: builds every component from one Config."""

from __future__ import annotations

from dependency_injector import containers, providers

from my_monit.config import Config
from my_monit.logging.audit import AuditLog
from my_monit.messaging import (
    BatchWriter,
    Metrics,
    RabbitConfiguration,
    RabbitConnector,
    RabbitListener,
    RabbitMessageProcessor,
)
from my_monit.messaging.pruner import MessageIdPruner
from my_monit.rest.authenticator import Authenticator, FirebaseTokenVerifier, TokenCache
from my_monit.rest.configuration import RestConfiguration
from my_monit.services import ExperimentService, MeasuresService, UserService
from my_monit.services.user_cache import UserCache, UserChanges
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

    # The REST server replaces user_changes with one its forked workers share.
    user_changes = providers.Singleton(UserChanges)
    user_cache = providers.ThreadSafeSingleton(
        UserCache, changes=user_changes, seconds=config.rest_user_cache_seconds
    )
    user_service = providers.Singleton(UserService, storage=storage, cache=user_cache)
    experiment_service = providers.Singleton(ExperimentService, storage=storage)
    measures_service = providers.Singleton(
        MeasuresService, storage=storage, experiment_service=experiment_service
    )

    audit_log = providers.ThreadSafeSingleton(AuditLog)

    rest_configuration = providers.Singleton(
        RestConfiguration,
        host=config.rest_host,
        port=config.rest_port,
        workers=config.rest_workers,
        threads=config.rest_threads,
        project_id=config.firebase_project_id,
        credentials_file=config.google_application_credentials,
        emulator_host=config.firebase_auth_emulator_host,
        certs_url=config.firebase_certs_url,
        log_level=config.log_level,
    )
    # Thread-safe: request threads of a worker may ask for them at the same moment.
    token_verifier = providers.ThreadSafeSingleton(FirebaseTokenVerifier, rest_configuration)
    token_cache = providers.ThreadSafeSingleton(
        TokenCache,
        size=rest_configuration.provided.token_cache_size,
        seconds=rest_configuration.provided.token_cache_seconds,
    )
    authenticator = providers.ThreadSafeSingleton(
        Authenticator, verifier=token_verifier, user_service=user_service, cache=token_cache
    )

    rabbit_configuration = providers.Singleton(
        RabbitConfiguration,
        url=config.rabbit_url,
        user=config.rabbit_user,
        password=config.rabbit_password,
        exchange=config.rabbit_exchange,
        routing=config.rabbit_routing,
        queue=config.rabbit_queue,
        ca_file=config.rabbit_ca_file,
        prefetch=config.rabbit_prefetch,
        batch_size=config.rabbit_batch_size,
        flush_seconds=config.rabbit_flush_seconds,
        reconnect_seconds=config.rabbit_reconnect_seconds,
    )
    metrics = providers.Singleton(Metrics)
    rabbit_connector = providers.Singleton(RabbitConnector, rabbit_configuration)
    rabbit_message_processor = providers.Singleton(
        RabbitMessageProcessor, storage=storage, audit_log=audit_log, metrics=metrics
    )
    message_id_pruner = providers.Singleton(MessageIdPruner, storage=storage, metrics=metrics)
    batch_writer = providers.Singleton(
        BatchWriter,
        processor=rabbit_message_processor,
        metrics=metrics,
        max_backoff_seconds=rabbit_configuration.provided.max_backoff_seconds,
        pruner=message_id_pruner,
    )
    rabbit_listener = providers.Singleton(
        RabbitListener,
        configuration=rabbit_configuration,
        connector=rabbit_connector,
        processor=rabbit_message_processor,
        writer=batch_writer,
        metrics=metrics,
    )


def create_container(config: Config | None = None) -> Container:
    """Build a container configured from ``config`` (by default, from the environment)."""
    container = Container()
    container.config.from_dict((config or Config.from_env()).as_dict())
    return container
