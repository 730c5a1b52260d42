"""The cast of the end-to-end tests: people with real ID tokens, an experiment, a client.

The world: an administrator (made with ``mymonit users create-admin``), a scientist
associated with an experiment that has measures, a scientist who is not, and a Firebase
account with no MyMONIT user; each with a real ID token of the Firebase Auth emulator.
"""

from __future__ import annotations

import re

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from stack import Account, Stack  # pylint: disable=import-error  # beside this file

from my_monit.model import Experiment, Role, User, format_timestamp

IDENTITIES = ("anonymous", "garbage", "bad-jwt", "stranger", "outsider", "scientist", "admin")
SIGNED_IN = ("outsider", "scientist", "admin")


class Api:
    """HTTPS calls through nginx, verifying its self-signed certificate."""

    def __init__(self, base_url: str, certificate: Path) -> None:
        self.base_url = base_url
        self.certificate = str(certificate)
        self.session = requests.Session()

    def call(
        self, method: str, path: str, authorization: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send one request; ``path`` is relative to the API's address, or absolute."""
        headers = dict(kwargs.pop("headers", None) or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        url = path if path.startswith("https://") else self.base_url + path
        # verify= on each call: a REQUESTS_CA_BUNDLE in the environment beats a session's.
        return self.session.request(
            method, url, headers=headers, allow_redirects=False, timeout=30,
            verify=self.certificate, **kwargs
        )


@dataclass(frozen=True)
class Person:
    """A MyMONIT user with the Firebase account they sign in with."""

    user_id: str
    name: str
    account: Account
    role: Role

    @property
    def authorization(self) -> str:
        """The Authorization header of this person's requests."""
        return f"Bearer {self.account.token}"


@dataclass(frozen=True)
class World:  # pylint: disable=too-many-instance-attributes  # the cast of the tests
    """The people, the experiment and the measures every test starts from."""

    stack: Stack
    storage: Any
    admin: Person
    scientist: Person
    outsider: Person
    stranger: Account
    experiment_id: int
    experiment_name: str
    measures: list[dict[str, Any]]

    def authorization(self, who: str) -> str | None:
        """The Authorization header that identity ``who`` sends (None: no header)."""
        headers = {
            "anonymous": None,
            "garbage": "Bearer garbage",
            # Shaped like a JWT, so that it reaches the Firebase SDK's verification.
            "bad-jwt": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
            "stranger": f"Bearer {self.stranger.token}",
        }
        if who in headers:
            return headers[who]
        person: Person = getattr(self, who)
        return person.authorization

    def user_json(self, user_id: str) -> dict[str, Any]:
        """A user as the API should show it, read from the database now."""
        user = self.storage.get_user(user_id)
        return {
            "user_id": user.user_id,
            "name": user.name,
            "username": user.username,
            "email": user.email,
            "role": user.role.value,
        }

    def personal_data(self) -> list[str]:
        """Every name, email and uid of the world: none may appear in an error body."""
        values = [self.stranger.uid, self.stranger.email]
        for person in (self.admin, self.scientist, self.outsider):
            user = self.storage.get_user(person.user_id)
            values += [person.name, person.account.uid, person.account.email, user.name or ""]
        return [value for value in values if value]


def assert_problem(response: requests.Response, status: int, personal: list[str]) -> None:
    """Check an application/problem+json body of ``status``, free of personal data."""
    assert response.headers["Content-Type"].startswith("application/problem+json"), (
        response.headers["Content-Type"]
    )
    problem = response.json()
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    for value in personal:
        assert value not in response.text, "a problem body repeats personal data"
    assert "Traceback" not in response.text


def assert_names_field(response: requests.Response, field: str) -> None:
    """Check that a problem body names ``field``: among its errors, or as a word of its detail."""
    problem = response.json()
    if field in problem.get("errors", {}):
        return
    assert re.search(rf"(?<![\w.]){re.escape(field)}(?![\w])", problem["detail"]), problem


def unique(prefix: str) -> str:
    """A short value no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def add_scientist(storage: Any, account: Account, name: str) -> Person:
    """Store a SCIENTIST user for ``account`` directly in the database."""
    user_id = unique("SCI")
    storage.insert_user(User(user_id, name, account.uid, account.email, Role.SCIENTIST))
    return Person(user_id, name, account, Role.SCIENTIST)


def insert_measures(
    storage: Any, experiment_id: int, rows: list[tuple[str, datetime, float]]
) -> None:
    """Store measures (type name, UTC time, value) of one experiment."""
    types = storage.measure_type_ids()
    storage.insert_measures(
        [(experiment_id, types[kind], taken_at, value) for kind, taken_at, value in rows]
    )


def measure_json(experiment: str, kind: str, taken_at: datetime, value: float) -> dict[str, Any]:
    """A measure as the API shows it."""
    return {
        "experiment": experiment,
        "measure_type": kind,
        "timestamp": format_timestamp(taken_at),
        "value": value,
    }


def make_world(stack: Stack) -> World:
    """Make the people, the experiment and its measures."""
    storage = stack.storage()
    emulator = stack.emulator

    admin_account = emulator.create_account()
    admin = Person("ADMIN-1", "Ada Administrator", admin_account, Role.ADMIN)
    stack.create_admin(admin.user_id, admin.name, admin_account.email, admin_account.uid)
    scientist = add_scientist(storage, emulator.create_account(), "Sam Scientist")
    outsider = add_scientist(storage, emulator.create_account(), "Olga Outsider")
    stranger = emulator.create_account()

    experiment = storage.insert_experiment(Experiment(None, unique("device-vibrations")))
    storage.insert_association(experiment.experiment_id, scientist.user_id)
    rows = [
        ("hertz", datetime(2022, 4, 6, 7, 0, 0, 123456, tzinfo=timezone.utc), 100.0),
        ("hertz", datetime(2022, 4, 6, 7, 0, 1, tzinfo=timezone.utc), 101.5),
        ("volt", datetime(2022, 4, 6, 7, 0, 2, 999999, tzinfo=timezone.utc), -3.25),
    ]
    insert_measures(storage, experiment.experiment_id, rows)
    measures = [measure_json(experiment.name, *row) for row in reversed(rows)]
    return World(stack, storage, admin, scientist, outsider, stranger,
                 experiment.experiment_id, experiment.name, measures)
