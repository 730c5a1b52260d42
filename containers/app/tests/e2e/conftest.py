"""Fixtures of the end-to-end tests: the running stack, a client through nginx, the world.

Every name, email and Firebase uid that the session hands to the stack is recorded as it
goes in (through the API client, the emulator, the database or ``mymonit users
create-admin``). Once every test has run, ``leak_check`` looks for all of them in the app's
console log and in every event the stand-in Logstash received.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Iterator

import pytest
import requests

# Modules beside this file (pytest puts this directory on sys.path).
from stack import Stack, running_stack  # pylint: disable=import-error
from world import Api, World, make_world  # pylint: disable=import-error

from support.logstash_listener import find_leaks
from support.personal_data import PersonalData, lines_of

# How long the app may take to send its last events, and how long they must stay unchanged.
SETTLE_SECONDS = 10.0
QUIET_SECONDS = 1.0
# Past this many users, reading them back from the database is not worth it.
USERS_READ_BACK = 10_000


class RecordingApi(Api):
    """The API client, keeping the personal fields of every body sent to a /users route."""

    def __init__(self, stack: Stack, recorded: PersonalData) -> None:
        super().__init__(stack.base_url, stack.certificate)
        self.recorded = recorded
        # The bodies of every error answer, for the leak check: a problem body names the
        # offending field but never repeats a submitted name, email or username.
        self.error_bodies: list[str] = []

    def call(
        self, method: str, path: str, authorization: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """Record what the body holds, send the request, and keep an error answer's body."""
        self.recorded.add_body(path, kwargs.get("json", kwargs.get("data")))
        response = super().call(method, path, authorization, **kwargs)
        if response.status_code >= 400:
            self.error_bodies.append(response.text)
        return response


def _after(call: Callable[..., Any], record: Callable[[Any], None]) -> Callable[..., Any]:
    """Wrap ``call`` so that ``record`` sees what it returns."""

    @functools.wraps(call)
    def inner(*args: Any, **kwargs: Any) -> Any:
        result = call(*args, **kwargs)
        record(result)
        return result

    return inner


def _before(call: Callable[..., Any], record: Callable[..., None]) -> Callable[..., Any]:
    """Wrap ``call`` so that ``record`` sees its arguments first."""

    @functools.wraps(call)
    def inner(*args: Any, **kwargs: Any) -> Any:
        record(*args, **kwargs)
        return call(*args, **kwargs)

    return inner


def _record_personal_data(stack: Stack, recorded: PersonalData) -> None:
    """Make the stack's ways of creating users and accounts record what they are given."""
    emulator = stack.emulator
    emulator.create_account = _after(emulator.create_account, recorded.add_account)
    emulator.sign_in = _after(emulator.sign_in, recorded.add_account)
    stack.create_admin = _before(  # type: ignore[method-assign]
        stack.create_admin, lambda user_id, name, email, uid: recorded.add(name, email, uid)
    )

    def storage_of(built: Any) -> Any:
        built.insert_user = _before(built.insert_user, recorded.add_user)
        built.update_user = _before(built.update_user, recorded.add_user)
        return built

    stack.storage = _after(stack.storage, storage_of)  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def personal_data() -> PersonalData:
    """Every name, email and uid the session gave the stack."""
    return PersonalData()


@pytest.fixture(scope="session")
def stack(personal_data: PersonalData) -> Iterator[Stack]:  # pylint: disable=redefined-outer-name
    """The whole stack, started once for the session."""
    # pytest resumes the generator at the end of the session, which leaves the block.
    with running_stack() as running:  # pylint: disable=contextmanager-generator-missing-cleanup
        _record_personal_data(running, personal_data)
        yield running


@pytest.fixture(scope="session")
# pylint: disable-next=redefined-outer-name  # fixtures
def api(stack: Stack, personal_data: PersonalData) -> RecordingApi:
    """A client of the API through nginx."""
    return RecordingApi(stack, personal_data)


@pytest.fixture(scope="session")
def world(stack: Stack) -> World:  # pylint: disable=redefined-outer-name  # fixtures
    """The people, the experiment and its measures that every test starts from."""
    return make_world(stack)


def _settled_lines(stack: Stack) -> list[bytes]:
    """Wait until the stand-in Logstash has received nothing new for a moment; give its lines."""
    deadline = time.monotonic() + SETTLE_SECONDS
    lines = list(stack.logstash.lines)
    while time.monotonic() < deadline:
        time.sleep(QUIET_SECONDS)
        now = list(stack.logstash.lines)
        if len(now) == len(lines):
            break
        lines = now
    return lines


def captured_texts(stack: Stack) -> dict[str, list[str]]:
    """Everything captured from the app: its console log and the events Logstash got."""
    return {
        "app.log": lines_of([stack.app.process.log_path.read_bytes()]),
        "logstash": lines_of(_settled_lines(stack)),
    }


def leaks_in(captured: dict[str, list[str]], secrets: list[str]) -> list[str]:
    """Describe each leak of a secret, by where it is, never by what it is."""
    found = []
    for source, lines in captured.items():
        found += [f"{source} line {leak.text + 1}: {leak}" for leak in find_leaks(lines, secrets)]
    return found


@pytest.fixture(scope="session", autouse=True)
def leak_check(  # pylint: disable=redefined-outer-name  # fixtures
    stack: Stack, personal_data: PersonalData, api: RecordingApi
) -> Iterator[None]:
    """After every other test, look for the session's personal data in all the app logged."""
    yield
    # Users the tests made in ways not recorded above are in the database still (unless erased).
    for user in stack.storage().list_users("", USERS_READ_BACK):
        personal_data.add_user(user)
    captured = captured_texts(stack)
    captured["error bodies"] = lines_of(api.error_bodies)

    assert captured["logstash"], "the stand-in Logstash received nothing"
    assert captured["error bodies"], "no error answer was recorded"
    assert len(personal_data) > 0, "no personal data was recorded"
    leaks = leaks_in(captured, personal_data.values())
    assert not leaks, "personal data in what the app logged:\n" + "\n".join(leaks)
