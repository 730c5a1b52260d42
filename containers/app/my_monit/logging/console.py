"""Console logging: one line per record, coloured by level on a terminal, personal data masked."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import colorama

from my_monit.logging.facets import is_logging
from my_monit.logging.masking import MaskingFilter, render_exception

__all__ = ["ColourFormatter", "ConsoleHandler", "MaskingFilter", "console_handler"]

CONSOLE_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"

_COLOURS = {
    logging.DEBUG: colorama.Style.DIM,
    logging.INFO: colorama.Fore.GREEN,
    logging.WARNING: colorama.Fore.YELLOW,
    logging.ERROR: colorama.Fore.RED,
    logging.CRITICAL: colorama.Fore.RED + colorama.Style.BRIGHT,
}


class ColourFormatter(logging.Formatter):
    """Write a record as one line, coloured by level when the console is a terminal.

    Line breaks of messages and tracebacks are written as ``\\n``: a record stays one
    line for whoever reads or greps the console, and a message cannot forge a line.
    """

    def __init__(self, fmt: str = CONSOLE_FORMAT, colour: bool = False) -> None:
        super().__init__(fmt)
        self._colour = colour

    @is_logging
    def format(self, record: logging.LogRecord) -> str:
        # The traceback is rendered here at the latest, still inside the logging context.
        render_exception(record)
        line = super().format(record).replace("\r", "\\r").replace("\n", "\\n")
        if not self._colour:
            return line
        return f"{_COLOURS.get(record.levelno, '')}{line}{colorama.Style.RESET_ALL}"


class ConsoleHandler(logging.StreamHandler):
    """The console handler that ``configure_logging`` installs (and replaces when re-run)."""


class _StandardError:
    """Whatever ``sys.stderr`` is when a record is written, not when logging was set up.

    A test runner swaps ``sys.stderr`` per test and closes the old one; a handler that
    kept the old one would then fail on every record.
    """

    def write(self, text: str) -> int:
        """Write to the current standard error."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current standard error."""
        sys.stderr.flush()

    def isatty(self) -> bool:
        """Tell whether the current standard error is a terminal."""
        return sys.stderr.isatty()


def console_handler(
    stream: TextIO | None, level: int | str = logging.NOTSET
) -> ConsoleHandler:
    """Build a masked, one-line-per-record handler writing to ``stream`` (None: stderr)."""
    colorama.just_fix_windows_console()
    handler = ConsoleHandler(stream if stream is not None else _StandardError())
    handler.setLevel(level)
    handler.addFilter(MaskingFilter())
    isatty = getattr(handler.stream, "isatty", None)
    handler.setFormatter(ColourFormatter(colour=bool(isatty and isatty())))
    return handler
