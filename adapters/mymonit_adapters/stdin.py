"""``mymonit-stdin``: publish one measure per input line, until end of input.

A line is ``VALUE`` (taken now) or ``TIMESTAMP VALUE`` (unix seconds or ISO 8601 with a
zone). Blank lines and lines starting with ``#`` are skipped; a line that is no measure
is reported by its number and skipped. ``tail -f file | mymonit-stdin ...`` follows a file.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from typing import BinaryIO, Callable, Iterator, Sequence

from mymonit_adapters.publisher import (
    AdapterError, BrokerSettings, InvalidReading, MeasurePublisher, add_broker_arguments,
    add_measure_arguments, configure_logging, measure_document, parse_timestamp, parse_value,
)

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0


def parse_line(line: str, experiment: str, measure: str) -> dict | None:
    """Turn a line into a measure message; None for a blank or comment line."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    fields = text.split()
    if len(fields) == 1:
        return measure_document(experiment, measure, parse_value(fields[0]))
    if len(fields) == 2:
        return measure_document(experiment, measure, parse_value(fields[1]),
                                parse_timestamp(fields[0]))
    raise InvalidReading("a line holds VALUE or TIMESTAMP VALUE")


def read_lines(stream: BinaryIO, on_idle: Callable[[], None]) -> Iterator[str]:
    """Yield lines as they arrive; call ``on_idle`` each second without input."""
    descriptor = stream.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([descriptor], [], [], IDLE_SECONDS)
        if not ready:
            on_idle()
            continue
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Publish stdin's measures; exit 0 at end of input, 1 if the broker failed for good."""
    parser = argparse.ArgumentParser(prog="mymonit-stdin", description=__doc__)
    add_measure_arguments(parser)
    add_broker_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)

    published = skipped = 0
    try:
        with MeasurePublisher(BrokerSettings.from_arguments(args), "mymonit-stdin") as publisher:
            for number, line in enumerate(read_lines(sys.stdin.buffer, publisher.keep_alive), 1):
                try:
                    document = parse_line(line, args.experiment, args.measure)
                except InvalidReading as error:
                    # The line itself is not logged: it may hold anything.
                    log.warning("line %d skipped: %s", number, error)
                    skipped += 1
                    continue
                if document is not None:
                    publisher.publish(document)
                    published += 1
    except AdapterError as error:
        log.error("stopped after %d measures: %s", published, error)
        return 1
    log.info("published %d measures, skipped %d lines", published, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
