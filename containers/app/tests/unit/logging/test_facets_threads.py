"""Unit tests of the facets under many interleaving threads, exceptions and nesting."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from my_monit.logging.facets import (
    MASK,
    in_logging_context,
    is_logging,
    logging_context,
    outside_logging_context,
)
from my_monit.logging.masking import MaskingFilter
from my_monit.model import Role, User

USER = User("S1", "Marie Curie", "uid-curie", "marie@example.org", Role.SCIENTIST)
REAL = ("Marie Curie", "uid-curie", "marie@example.org")
MASKED = (MASK, MASK, MASK)
THREADS = 24
ROUNDS = 300


def _seen() -> tuple[str | None, ...]:
    # Give the other threads the interpreter first, so that contexts interleave for real.
    time.sleep(0)
    return (USER.name, USER.username, USER.email)


@is_logging
def _render(user: User) -> str:
    time.sleep(0)
    return f"{user.user_id}:{user.name}:{user.email}"


@is_logging
def _fail_while_logging() -> None:
    time.sleep(0)
    raise RuntimeError(f"failed for {USER.name}")


def _worker(seed: int, start: threading.Barrier, errors: list[str]) -> None:
    # Each thread mixes every way of entering and leaving a context, at random, and
    # checks after each step that it sees what its own context says, whatever the others do.
    chooser = random.Random(seed)
    start.wait()
    for step in range(ROUNDS):
        kind = chooser.randrange(5)
        if kind == 0:
            with logging_context():
                seen = _seen()
                expected = MASKED
        elif kind == 1:
            with logging_context(), outside_logging_context():
                seen = _seen()
                expected = REAL
        elif kind == 2:
            seen = (_render(USER),) * 3
            expected = ("S1:***:***",) * 3
        elif kind == 3:
            try:
                _fail_while_logging()
            except RuntimeError as error:
                seen = (str(error),) * 3
            expected = ("failed for ***",) * 3
        else:
            seen = _seen()
            expected = REAL
        if seen != expected or in_logging_context():
            errors.append(f"thread {seed} step {step} kind {kind}: {seen}")


def test_many_threads_each_see_only_their_own_context():
    errors: list[str] = []
    start = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=_worker, args=(seed, start, errors)) for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_a_context_held_by_one_thread_does_not_leak_into_others():
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, tuple[str | None, ...]] = {}

    def holder() -> None:
        with logging_context():
            inside.set()
            release.wait(5)
            seen["holder"] = _seen()

    thread = threading.Thread(target=holder)
    thread.start()
    inside.wait(5)
    others = [
        threading.Thread(target=lambda i=i: seen.__setitem__(f"o{i}", _seen())) for i in range(8)
    ]
    for other in others:
        other.start()
    for other in others:
        other.join(5)
    release.set()
    thread.join(5)
    assert seen.pop("holder") == MASKED
    assert set(seen.values()) == {REAL}


def test_is_logging_returns_the_result_of_the_call():
    @is_logging
    def add(left: int, right: int) -> int:
        return left + right

    assert add(2, right=3) == 5


def test_is_logging_restores_the_outer_logging_context_after_an_exception():
    with logging_context():
        with pytest.raises(RuntimeError, match=r"failed for \*\*\*"):
            _fail_while_logging()
        assert in_logging_context()
    assert not in_logging_context()
    assert _seen() == REAL


def test_outside_logging_context_restores_masking_after_an_exception():
    with logging_context():
        with pytest.raises(ValueError):
            with outside_logging_context():
                assert _seen() == REAL
                raise ValueError("boom")
        assert _seen() == MASKED


def test_masking_filter_masks_records_logged_from_many_threads_at_once():
    masking = MaskingFilter()
    messages: list[str] = []
    unmasked_reads: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def log_and_read(number: int) -> None:
        start.wait()
        for _ in range(100):
            record = logging.LogRecord("t", logging.INFO, __file__, 1, "user %s", (USER,), None)
            masking.filter(record)
            with lock:
                messages.append(record.getMessage())
                # Between two records, the thread's own reads are real.
                if _seen() != REAL:
                    unmasked_reads.append(number)

    threads = [threading.Thread(target=log_and_read, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(messages) == THREADS * 100 and unmasked_reads == []
    assert all("Marie" not in message and "S1" in message for message in messages)
