"""Fixtures of the end-to-end tests: the running stack, a client through nginx, the world."""

from __future__ import annotations

from typing import Iterator

import pytest

# Modules beside this file (pytest puts this directory on sys.path).
from stack import Stack, running_stack  # pylint: disable=import-error
from world import Api, World, make_world  # pylint: disable=import-error


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole stack, started once for the session."""
    # pytest resumes the generator at the end of the session, which leaves the block.
    with running_stack() as running:  # pylint: disable=contextmanager-generator-missing-cleanup
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:  # pylint: disable=redefined-outer-name  # fixtures
    """A client of the API through nginx."""
    return Api(stack.base_url, stack.certificate)


@pytest.fixture(scope="session")
def world(stack: Stack) -> World:  # pylint: disable=redefined-outer-name  # fixtures
    """The people, the experiment and its measures that every test starts from."""
    return make_world(stack)
