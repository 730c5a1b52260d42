"""The one place that reads MyMONIT's configuration from the environment.

Every variable, its default and its meaning are in README.md ("Environment").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping


class ConfigurationError(ValueError):
    """A variable of the environment has a value that cannot be used."""


def _integer(minimum: int, maximum: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        value = int(text)
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}")
        return value

    return convert


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise ValueError("must be between 0 and 3600 seconds")
    return value


def _optional(text: str) -> str | None:
    return text or None


# REST_HOST's default: in a container, only nginx reaches the app's port (bandit B104).
ALL_INTERFACES = "0.0.0.0"  # nosec B104

# variable -> (field, default, converter); None as default means "unset".
_VARIABLES: dict[str, tuple[str, Any, Callable[[str], Any]]] = {
    "DB_HOST": ("db_host", "localhost", str),
    "DB_PORT": ("db_port", 3306, _integer(1, 65535)),
    "DB_USER": ("db_user", "root", str),
    "DB_PASSWORD": ("db_password", "password", str),
    "DB_DATABASE": ("db_database", "my_monit", str),
    "DB_POOL_SIZE": ("db_pool_size", 16, _integer(1, 256)),
    "DB_SCHEMA_DIR": ("db_schema_dir", None, _optional),
    "RABBIT_URL": ("rabbit_url", "localhost", str),
    "RABBIT_USER": ("rabbit_user", "guest", str),
    "RABBIT_PASSWORD": ("rabbit_password", "guest", str),
    "RABBIT_EXCHANGE": ("rabbit_exchange", "mymonit", str),
    "RABBIT_ROUTING": ("rabbit_routing", "measures", str),
    "RABBIT_QUEUE": ("rabbit_queue", "measures", str),
    "RABBIT_CA_FILE": ("rabbit_ca_file", None, _optional),
    "RABBIT_PREFETCH": ("rabbit_prefetch", 2000, _integer(1, 65535)),
    "RABBIT_BATCH_SIZE": ("rabbit_batch_size", 1000, _integer(1, 100000)),
    "RABBIT_FLUSH_SECONDS": ("rabbit_flush_seconds", 0.2, _seconds),
    "RABBIT_RECONNECT_SECONDS": ("rabbit_reconnect_seconds", 300.0, _seconds),
    "REST_HOST": ("rest_host", ALL_INTERFACES, str),
    "REST_PORT": ("rest_port", 5000, _integer(1, 65535)),
    "REST_WORKERS": ("rest_workers", 3, _integer(1, 64)),
    "REST_THREADS": ("rest_threads", 8, _integer(1, 256)),
    "REST_USER_CACHE_SECONDS": ("rest_user_cache_seconds", 1.0, _seconds),
    "HEALTH_PORT": ("health_port", 8081, _integer(1, 65535)),
    "LOGSTASH_HOST": ("logstash_host", "localhost", str),
    "LOGSTASH_PORT": ("logstash_port", 5959, _integer(1, 65535)),
    "LOG_LEVEL": ("log_level", "INFO", str.upper),
    "FIREBASE_PROJECT_ID": ("firebase_project_id", None, _optional),
    "GOOGLE_APPLICATION_CREDENTIALS": ("google_application_credentials", None, _optional),
    "FIREBASE_AUTH_EMULATOR_HOST": ("firebase_auth_emulator_host", None, _optional),
    "FIREBASE_CERTS_URL": ("firebase_certs_url", None, _optional),
}


@dataclass(frozen=True)
class Config:  # pylint: disable=too-many-instance-attributes  # one field per variable
    """MyMONIT's settings, one field per environment variable."""

    db_host: str
    db_port: int
    db_user: str
    db_password: str
    db_database: str
    db_pool_size: int
    db_schema_dir: str | None
    rabbit_url: str
    rabbit_user: str
    rabbit_password: str
    rabbit_exchange: str
    rabbit_routing: str
    rabbit_queue: str
    rabbit_ca_file: str | None
    rabbit_prefetch: int
    rabbit_batch_size: int
    rabbit_flush_seconds: float
    rabbit_reconnect_seconds: float
    rest_host: str
    rest_port: int
    rest_workers: int
    rest_threads: int
    rest_user_cache_seconds: float
    health_port: int
    logstash_host: str
    logstash_port: int
    log_level: str
    firebase_project_id: str | None
    google_application_credentials: str | None
    firebase_auth_emulator_host: str | None
    firebase_certs_url: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read every variable, falling back to its default; raise on an unusable value."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable, (field, default, convert) in _VARIABLES.items():
            text = environ.get(variable)
            if text is None:
                values[field] = default
                continue
            try:
                values[field] = convert(text)
            except ValueError as error:
                raise ConfigurationError(f"{variable}: {error}") from error
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Give the settings as a dict (for the dependency-injector configuration)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def variables() -> dict[str, Any]:
    """Map each documented variable to its default (for docs and tests)."""
    return {variable: default for variable, (_, default, _) in _VARIABLES.items()}
