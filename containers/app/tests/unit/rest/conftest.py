"""Fixtures of the REST unit tests: the real app, its services mocked in the container."""

from __future__ import annotations

# pytest passes fixtures by name: arguments share the names of the fixture functions.
# pylint: disable=redefined-outer-name

from unittest import mock

import pytest
from dependency_injector import providers
from flask import Flask
from flask.testing import FlaskClient

from my_monit.config import Config
from my_monit.container import Container, create_container
from my_monit.rest.listener import create_app
from my_monit.services import ExperimentService, MeasuresService, UserService
from my_monit.storage import Storage

from rest_doubles import FakeVerifier, RecordingAuditLog, authenticate


@pytest.fixture
def users() -> mock.Mock:
    """UserService, mocked; it signs in ADMIN and SCIENTIST by their uids."""
    service = mock.create_autospec(UserService, instance=True)
    service.authenticate.side_effect = authenticate
    return service


@pytest.fixture
def experiments() -> mock.Mock:
    """ExperimentService, mocked."""
    return mock.create_autospec(ExperimentService, instance=True)


@pytest.fixture
def measures() -> mock.Mock:
    """MeasuresService, mocked."""
    return mock.create_autospec(MeasuresService, instance=True)


@pytest.fixture
def storage() -> mock.Mock:
    """Storage, mocked (the readiness probe pings it)."""
    return mock.create_autospec(Storage, instance=True)


@pytest.fixture
def verifier() -> FakeVerifier:
    """The token verifier: test tokens only."""
    return FakeVerifier()


@pytest.fixture
def audit() -> RecordingAuditLog:
    """The audit log, keeping events for the test to read."""
    return RecordingAuditLog()


@pytest.fixture
def container(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    users: mock.Mock,
    experiments: mock.Mock,
    measures: mock.Mock,
    storage: mock.Mock,
    verifier: FakeVerifier,
    audit: RecordingAuditLog,
) -> Container:
    """The app's container with its services, storage, verifier and audit log replaced."""
    built = create_container(Config.from_env({"FIREBASE_PROJECT_ID": "demo-unit"}))
    built.user_service.override(providers.Object(users))
    built.experiment_service.override(providers.Object(experiments))
    built.measures_service.override(providers.Object(measures))
    built.storage.override(providers.Object(storage))
    built.token_verifier.override(providers.Object(verifier))
    built.audit_log.override(providers.Object(audit))
    return built


@pytest.fixture
def app(container: Container) -> Flask:
    """The REST app, built by its factory."""
    return create_app(container)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()
