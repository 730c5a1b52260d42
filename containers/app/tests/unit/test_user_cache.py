"""Unit tests of the sign-in cache: kept briefly, dropped when any user changes, in any process."""

import multiprocessing
from unittest.mock import MagicMock

import pytest

from my_monit.errors import Forbidden
from my_monit.model import Role, User
from my_monit.services import UserService
from my_monit.services.user_cache import UserCache, UserChanges

ADMIN = User("A1", "Ada Admin", "uid-admin", "ada@example.org", Role.ADMIN)
SCIENTIST = User("S1", "Sam Science", "uid-sam", "sam@example.org", Role.SCIENTIST)


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def fixture_clock():
    return Clock()


@pytest.fixture(name="changes")
def fixture_changes():
    return UserChanges()


@pytest.fixture(name="cache")
def fixture_cache(changes, clock):
    return UserCache(changes, seconds=1.0, clock=clock)


def test_a_user_is_kept_for_its_seconds_then_dropped(cache, clock):
    cache.put("uid-sam", SCIENTIST, cache.version())

    clock.now += 0.99
    assert cache.get("uid-sam") is SCIENTIST
    clock.now += 0.01
    assert cache.get("uid-sam") is None
    assert cache.get("uid-other") is None


def test_a_change_drops_every_user(cache):
    cache.put("uid-sam", SCIENTIST, cache.version())
    cache.put("uid-admin", ADMIN, cache.version())

    cache.changed()

    assert cache.get("uid-sam") is None
    assert cache.get("uid-admin") is None


def test_a_change_signalled_by_another_cache_of_the_same_changes_drops_users(changes, clock):
    here = UserCache(changes, seconds=1.0, clock=clock)
    there = UserCache(changes, seconds=1.0, clock=clock)
    here.put("uid-sam", SCIENTIST, here.version())

    there.changed()

    assert here.get("uid-sam") is None


def test_a_user_looked_up_while_a_change_was_committed_is_not_kept(cache):
    version = cache.version()  # read before the lookup...
    cache.changed()  # ...which a change overtook: the row read may be the old one

    cache.put("uid-sam", SCIENTIST, version)

    assert cache.get("uid-sam") is None


def test_zero_seconds_keeps_nothing(changes, clock):
    cache = UserCache(changes, seconds=0, clock=clock)
    cache.put("uid-sam", SCIENTIST, cache.version())
    assert cache.get("uid-sam") is None


def test_a_full_cache_starts_again(changes, clock):
    cache = UserCache(changes, seconds=1.0, size=2, clock=clock)
    cache.put("uid-sam", SCIENTIST, cache.version())
    cache.put("uid-admin", ADMIN, cache.version())

    cache.put("uid-third", SCIENTIST, cache.version())

    assert cache.get("uid-third") is SCIENTIST
    assert cache.get("uid-sam") is None and cache.get("uid-admin") is None


def _signal_change(changes: UserChanges) -> None:
    changes.changed()


def test_a_change_in_a_forked_process_is_seen_by_its_parent(changes):
    """As in gunicorn: the changes are made in the master, and workers fork from it."""
    before = changes.current()
    child = multiprocessing.get_context("fork").Process(target=_signal_change, args=(changes,))
    child.start()
    child.join(10)

    assert child.exitcode == 0
    assert changes.current() != before


def test_changes_made_apart_are_not_shared():
    first, second = UserChanges(), UserChanges()
    before = second.current()
    first.changed()
    assert second.current() == before


@pytest.fixture(name="storage")
def fixture_storage():
    storage = MagicMock()
    storage.get_user_by_username.return_value = SCIENTIST
    storage.get_user.return_value = SCIENTIST
    return storage


@pytest.fixture(name="users")
def fixture_users(storage, cache):
    return UserService(storage, cache)


def test_sign_in_looks_a_user_up_once_while_nothing_changes(users, storage):
    assert users.authenticate("uid-sam") is SCIENTIST
    assert users.authenticate("uid-sam") is SCIENTIST
    storage.get_user_by_username.assert_called_once_with("uid-sam")


@pytest.mark.parametrize(
    "change",
    [
        lambda users: users.update_user(ADMIN, "S1", {"role": "ADMIN"}),
        lambda users: users.erase_user(ADMIN, "S1"),
        lambda users: users.create_user(ADMIN, User("S9", "New One", "uid-new", "n@x.org")),
        lambda users: users.create_admin(User("A9", "New One", "uid-new", "n@x.org", Role.ADMIN)),
    ],
    ids=["update", "erase", "create", "create-admin"],
)
def test_sign_in_looks_the_user_up_again_after_a_change(users, storage, change):
    users.authenticate("uid-sam")

    change(users)
    users.authenticate("uid-sam")

    assert storage.get_user_by_username.call_count == 2


def test_a_refused_change_keeps_the_cache(users, storage):
    users.authenticate("uid-sam")
    with pytest.raises(Forbidden):
        users.update_user(SCIENTIST, "S1", {"role": "ADMIN"})

    users.authenticate("uid-sam")

    storage.get_user_by_username.assert_called_once()


@pytest.mark.parametrize("found", [None, User("S3", None, None, None, erased=True)])
def test_unknown_and_erased_users_are_looked_up_every_time(users, storage, found):
    storage.get_user_by_username.return_value = found
    for _ in range(2):
        with pytest.raises(Forbidden):
            users.authenticate("uid-x")
    assert storage.get_user_by_username.call_count == 2
