"""``mymonit-replay``: publish the measures of a CSV or JSON-lines file, in array messages.

CSV files have a header with ``timestamp`` and ``value`` columns, and optionally
``experiment`` and ``measure``; JSON-lines files hold one object per line with the same
keys. ``--experiment`` and ``--measure`` fill in what a record leaves out.

Measures go out in array messages of ``--batch-size``, each confirmed by the broker. The
message ids derive from the file's content and the batch size, so replaying a file
again (after an interruption, say) stores no measure twice.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from tqdm import tqdm

from mymonit_adapters.publisher import (
    AdapterError, BrokerSettings, InvalidReading, MeasurePublisher, add_broker_arguments,
    add_measure_arguments, configure_logging, measure_document, parse_timestamp, parse_value,
)

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True)
class Replay:
    """What to replay and how: the file, its format, defaults and batch size."""

    path: Path
    file_format: str
    experiment: str | None
    measure: str | None
    batch_size: int

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (line number, record) pairs of the file."""
        with self.path.open(encoding="utf-8", newline="") as stream:
            if self.file_format == "csv":
                reader = csv.DictReader(stream)
                for record in reader:
                    yield reader.line_num, record
                return
            for number, line in enumerate(stream, 1):
                if line.strip():
                    yield number, _json_record(line)

    def to_measure(self, record: dict[str, Any]) -> dict[str, Any]:
        """Turn a record into a measure message, or raise InvalidReading."""
        experiment = record.get("experiment") or self.experiment
        measure = record.get("measure") or self.measure
        if not isinstance(experiment, str) or not isinstance(measure, str):
            raise InvalidReading("no experiment or measure type (give --experiment/--measure)")
        if "value" not in record or "timestamp" not in record:
            raise InvalidReading("a record needs a value and a timestamp")
        return measure_document(experiment, measure, parse_value(record["value"]),
                                parse_timestamp(record["timestamp"]))

    def fingerprint(self) -> tuple[str, int]:
        """Give the file's SHA-256 and its number of lines."""
        digest = hashlib.sha256()
        lines = 0
        with self.path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
                lines += block.count(b"\n")
        return digest.hexdigest(), lines


def _json_record(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {"__invalid__": "the line is not JSON"}
    return record if isinstance(record, dict) else {"__invalid__": "the line is no object"}


def replay(replay_: Replay, publisher: MeasurePublisher, progress: bool = True) -> tuple[int, int]:
    """Publish the file's measures in batches; give (published, skipped) counts."""
    digest, lines = replay_.fingerprint()
    published = skipped = batch_number = 0
    batch: list[dict[str, Any]] = []
    with tqdm(total=lines, unit="line", disable=None if progress else True,
              file=sys.stderr) as progress_bar:
        for number, record in replay_.records():
            progress_bar.update(number - progress_bar.n)
            try:
                if "__invalid__" in record:
                    raise InvalidReading(record["__invalid__"])
                batch.append(replay_.to_measure(record))
            except InvalidReading as error:
                log.warning("line %d skipped: %s", number, error)
                skipped += 1
                continue
            if len(batch) == replay_.batch_size:
                publisher.publish_measures(batch, _message_id(digest, replay_, batch_number))
                published, batch, batch_number = published + len(batch), [], batch_number + 1
        if batch:
            publisher.publish_measures(batch, _message_id(digest, replay_, batch_number))
            published += len(batch)
        progress_bar.update(lines - progress_bar.n)
    return published, skipped


def _message_id(digest: str, replay_: Replay, batch_number: int) -> str:
    return f"replay-{digest[:32]}-{replay_.batch_size}-{batch_number}"


def main(argv: Sequence[str] | None = None) -> int:
    """Replay a file; exit 0 when done, 1 if the broker failed or the file is unusable."""
    parser = argparse.ArgumentParser(prog="mymonit-replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="a .csv or .jsonl file")
    parser.add_argument("--format", choices=("csv", "jsonl"), dest="file_format",
                        help="the file's format (default: from its extension)")
    add_measure_arguments(parser, required=False)
    parser.add_argument("--batch-size", type=int, default=500,
                        help="measures per message (default 500)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_broker_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)

    file_format = args.file_format or FORMATS.get(args.file.suffix.lower())
    if file_format is None:
        parser.error("cannot tell the file's format from its name: give --format")
    if not 1 <= args.batch_size <= 10000:
        parser.error("--batch-size must be between 1 and 10000")
    replay_ = Replay(args.file, file_format, args.experiment, args.measure, args.batch_size)
    try:
        with MeasurePublisher(BrokerSettings.from_arguments(args), "mymonit-replay") as publisher:
            published, skipped = replay(replay_, publisher, progress=not args.no_progress)
    except (AdapterError, OSError, csv.Error, UnicodeDecodeError) as error:
        log.error("replay stopped: %s", error)
        return 1
    log.info("published %d measures, skipped %d records", published, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
