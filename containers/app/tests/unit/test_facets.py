"""Unit tests of faceted values: masked while logging, real otherwise."""

import threading
from dataclasses import asdict

import pytest

from my_monit.logging.facets import (
    MASK,
    do_not_log,
    in_logging_context,
    is_logging,
    logging_context,
)
from my_monit.model import Role, User

USER = User("S1", "Marie Curie", "uid-curie", "marie@example.org", Role.SCIENTIST)


def test_personal_fields_are_real_outside_logging():
    assert (USER.name, USER.username, USER.email) == (
        "Marie Curie",
        "uid-curie",
        "marie@example.org",
    )


def test_personal_fields_are_masked_inside_logging():
    with logging_context():
        assert (USER.name, USER.username, USER.email) == (MASK, MASK, MASK)
        assert USER.user_id == "S1" and USER.role is Role.SCIENTIST
        assert "Marie" not in repr(USER) and "marie@" not in str(asdict(USER))


def test_is_logging_returns_the_result_and_masks_inside():
    @is_logging
    def render(user):
        return f"{user}"

    text = render(USER)
    assert "S1" in text and "Curie" not in text and "uid-curie" not in text
    assert not in_logging_context()


def test_is_logging_restores_context_when_the_call_raises():
    @is_logging
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert not in_logging_context()
    assert USER.name == "Marie Curie"


def test_nested_contexts_restore_the_outer_one():
    with logging_context():
        with logging_context():
            pass
        assert in_logging_context()
    assert not in_logging_context()


def test_do_not_log_on_a_method():
    class Badge:
        @do_not_log
        def holder(self):
            return "Marie Curie"

    assert Badge().holder() == "Marie Curie"
    with logging_context():
        assert Badge().holder() == MASK


def test_threads_have_their_own_context():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def logger_thread():
        with logging_context():
            seen["logger"] = USER.name
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=logger_thread)
    worker.start()
    inside.wait(5)
    seen["main"] = USER.name
    release.set()
    worker.join(5)
    assert seen == {"logger": MASK, "main": "Marie Curie"}


def test_erased_fields_stay_none_while_logging():
    erased = User("S2", None, None, None, Role.SCIENTIST, erased=True)
    with logging_context():
        assert erased.name is None
