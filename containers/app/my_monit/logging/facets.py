"""Faceted values: personal data renders as a mask whenever it is being logged.

A call wrapped with ``@is_logging`` runs in a logging context. Inside it, every value
marked ``@do_not_log`` (a method, or a dataclass field declared with ``do_not_log()``)
renders as ``***``; outside it, the real value is returned. The context lives in a
``ContextVar``, so each thread (and each asyncio task) has its own, and it is restored
when the wrapped call returns or raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

MASK = "***"
_MASKED_METADATA = "mymonit.do_not_log"
_logging_context: ContextVar[bool] = ContextVar("mymonit_logging_context", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def in_logging_context() -> bool:
    """Tell whether the current thread is inside an ``@is_logging`` call."""
    return _logging_context.get()


@contextlib.contextmanager
def logging_context() -> Iterator[None]:
    """Mask faceted values for the duration of the ``with`` block."""
    token = _logging_context.set(True)
    try:
        yield
    finally:
        _logging_context.reset(token)


@contextlib.contextmanager
def outside_logging_context() -> Iterator[None]:
    """Give real values for the duration of the ``with`` block (validation, storage)."""
    token = _logging_context.set(False)
    try:
        yield
    finally:
        _logging_context.reset(token)


def is_logging(func: F) -> F:
    """Run ``func`` in a logging context and return its result."""

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        with logging_context():
            return func(*args, **kwargs)

    return inner  # type: ignore[return-value]


def do_not_log(func: Callable[..., Any] | None = None) -> Any:
    """Mark a method, or (called without arguments) a dataclass field, as personal data.

    ``@do_not_log`` on a method makes it return ``***`` inside a logging context.
    ``name: str = do_not_log()`` in a dataclass deriving from ``Faceted`` does the same
    for a field.
    """
    if func is None:
        # Called in a dataclass body, as the field's default: pylint cannot see that.
        return dataclasses.field(  # pylint: disable=invalid-field-call
            metadata={_MASKED_METADATA: True}
        )

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return MASK if _logging_context.get() else func(*args, **kwargs)

    return inner


@functools.cache
def _masked_fields(cls: type) -> frozenset[str]:
    return frozenset(
        field.name for field in dataclasses.fields(cls) if field.metadata.get(_MASKED_METADATA)
    )


class Faceted:
    """Base of dataclasses whose ``do_not_log()`` fields are masked while logging."""

    __slots__ = ()

    def __getattribute__(self, attr: str) -> Any:
        value = object.__getattribute__(self, attr)
        if (
            _logging_context.get()
            and not attr.startswith("__")
            and value is not None
            and attr in _masked_fields(type(self))
        ):
            return MASK
        return value
