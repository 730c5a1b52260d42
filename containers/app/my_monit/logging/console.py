"""Console logging: configured once at start-up, coloured by level, personal data masked."""

from __future__ import annotations

import logging
import logging.config
import sys

import colorama

from my_monit.logging.facets import is_logging

_COLOURS = {
    logging.DEBUG: colorama.Style.DIM,
    logging.INFO: colorama.Fore.GREEN,
    logging.WARNING: colorama.Fore.YELLOW,
    logging.ERROR: colorama.Fore.RED,
    logging.CRITICAL: colorama.Fore.RED + colorama.Style.BRIGHT,
}


class MaskingFilter(logging.Filter):
    """Render each record's message inside a logging context, so facets come out masked.

    Runs in the thread that logs, before any handler (or queue) sees the record, and
    freezes the message so that no later formatting can reveal the real values.
    """

    @is_logging
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = record.getMessage()
        record.args = None
        return True


class ColourFormatter(logging.Formatter):
    """Colour the level name of each line when the console is a terminal."""

    def __init__(self, fmt: str, colour: bool) -> None:
        super().__init__(fmt)
        self._colour = colour

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging API
        line = super().formatMessage(record)
        if not self._colour:
            return line
        return f"{_COLOURS.get(record.levelno, '')}{line}{colorama.Style.RESET_ALL}"


def configure_logging(level: str = "INFO") -> None:
    """Set up the root logger once: masked, coloured console output at ``level``."""
    colorama.just_fix_windows_console()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        ColourFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", colour=sys.stderr.isatty()
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
