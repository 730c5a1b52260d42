"""Measure MyMONIT's AMQP ingest against raw pika and raw multi-row inserts, and print ratios.

Run from containers/app with the services up (see README, "Benchmark"):

    python benchmarks/ingest_benchmark.py

It makes its own database (my_monit_test_bench_<random>, dropped at the end) and its own
exchange and queues (deleted at the end). Figures:

(a) raw pika consume rate, manual acks, no processing, on a queue filled beforehand; one
    ack per message (the plain consumer), and for reference one ack per 500 messages
    (``multiple=True``, as MyMONIT acks);
(b) raw multi-row insert rate of the same driver into the measures table;
(c) MyMONIT on 100,000 single-measure messages published while its consumer is away,
    timed from the moment it resumes (its basic.consume confirmed) until the last row is
    committed;
(d) the same with 2,000 messages of 100 measures each.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

import mysql.connector
import pika

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.storage import StorageConnector
from my_monit.storage.migrations import upgrade
from my_monit.storage.storage import INSERT_MEASURES, INSERT_MEASURES_HEAD

EXPERIMENT = "device-vibrations"


def _config(batch_size: int | None, prefetch: int | None) -> Config:
    environ = {
        "DB_HOST": "127.0.0.1",
        "DB_USER": "mymonit_test",
        "DB_PASSWORD": "mymonit-test",
        "RABBIT_URL": "127.0.0.1",
        **os.environ,
    }
    config = Config.from_env(environ)
    suffix = uuid.uuid4().hex[:10]
    config = dataclasses.replace(
        config,
        db_database=f"my_monit_test_bench_{suffix}",
        rabbit_exchange=f"bench-{suffix}",
        rabbit_queue=f"bench-{suffix}",
        rabbit_routing="measures",
    )
    if batch_size:
        config = dataclasses.replace(config, rabbit_batch_size=batch_size)
    if prefetch:
        config = dataclasses.replace(config, rabbit_prefetch=prefetch)
    return config


def _parameters(config: Config) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        config.rabbit_url, credentials=pika.PlainCredentials(config.rabbit_user,
                                                             config.rabbit_password)
    )


def _measure(index: int) -> dict[str, Any]:
    return {
        "experiment": EXPERIMENT,
        "measure": "hertz",
        "value": 100.0 + index % 1000 / 7,
        "timestamp": 1650000000 + index / 1000,
    }


def _publish(config: Config, exchange: str, routing: str, bodies: list[bytes],
             with_ids: bool = False) -> None:
    """Publish persistent messages; the callers then wait until the queue holds them all.

    No publisher confirms: a BlockingConnection waits for each one, and the queue's depth
    tells just as surely that every message arrived.
    """
    connection = pika.BlockingConnection(_parameters(config))
    channel = connection.channel()
    for index, body in enumerate(bodies):
        properties = pika.BasicProperties(
            delivery_mode=2, content_type="application/json",
            message_id=f"bench-{index}" if with_ids else None,
        )
        channel.basic_publish(exchange, routing, body, properties)
    connection.close()


def _fill_raw_queue(config: Config, queue: str, count: int) -> None:
    connection = pika.BlockingConnection(_parameters(config))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    connection.close()
    body = json.dumps(_measure(0)).encode()
    _publish(config, "", queue, [body] * count)
    _wait_for_depth(config, queue, count)


def _wait_for_depth(config: Config, queue: str, count: int) -> None:
    connection = pika.BlockingConnection(_parameters(config))
    channel = connection.channel()
    while channel.queue_declare(queue, passive=True).method.message_count < count:
        time.sleep(0.2)
    connection.close()


def raw_consume(config: Config, count: int, ack_every: int) -> float:
    """Consume ``count`` messages with a SelectConnection; give messages per second."""
    queue = f"{config.rabbit_queue}-raw-{ack_every}"
    _fill_raw_queue(config, queue, count)
    state = {"received": 0, "started": 0.0, "ended": 0.0}

    def on_message(channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        state["received"] += 1
        if ack_every == 1:
            channel.basic_ack(method.delivery_tag)
        elif state["received"] % ack_every == 0 or state["received"] == count:
            channel.basic_ack(method.delivery_tag, multiple=True)
        if state["received"] == count:
            state["ended"] = time.perf_counter()
            channel.queue_delete(queue, callback=lambda _frame: connection.close())

    def on_channel(channel: Any) -> None:
        def on_qos(_frame: Any) -> None:
            state["started"] = time.perf_counter()
            channel.basic_consume(queue, on_message)

        channel.basic_qos(prefetch_count=config.rabbit_prefetch, callback=on_qos)

    connection = pika.SelectConnection(
        _parameters(config),
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel),
        on_close_callback=lambda *_: connection.ioloop.stop(),
    )
    connection.ioloop.start()
    return count / (state["ended"] - state["started"])


def raw_insert(config: Config, count: int, chunk: int = 5000, prebuilt: bool = False) -> float:
    """Insert ``count`` rows, ``chunk`` per commit; give rows per second.

    With executemany, or (``prebuilt``) with multi-row statements built beforehand, which
    measures the server and the driver's transport alone.
    """
    connector = _connector(config)
    connection = connector.open()
    cursor = connection.cursor()
    cursor.execute("SELECT experiment_id FROM experiments WHERE name = %s", (EXPERIMENT,))
    experiment_id = cursor.fetchone()[0]
    epoch = datetime(1970, 1, 1)
    rows = [
        (experiment_id, 3, epoch + timedelta(seconds=1650000000 + i / 1000), 100.0 + i % 1000)
        for i in range(count)
    ]
    statements = [
        INSERT_MEASURES_HEAD + ",".join(
            f"({e},{t},'{taken_at}',{value!r})" for e, t, taken_at, value in rows[s:s + chunk])
        for s in range(0, count, chunk)
    ] if prebuilt else []
    started = time.perf_counter()
    for index, start in enumerate(range(0, count, chunk)):
        if prebuilt:
            cursor.execute(statements[index])
        else:
            cursor.executemany(INSERT_MEASURES, rows[start:start + chunk])
        connection.commit()
    elapsed = time.perf_counter() - started
    cursor.execute("DELETE FROM measures")
    connection.commit()
    connection.close()
    return count / elapsed


def mymonit_consume(config: Config, messages: list[bytes], measures: int,
                    with_ids: bool = False) -> tuple[float, float, dict[str, int]]:
    """Publish ``messages``, then run MyMONIT's consumer until ``measures`` are committed.

    Give messages per second, measures per second, and the consumer's counters.
    """
    container = create_container(config)
    configuration: RabbitConfiguration = container.rabbit_configuration()
    _declare(config, configuration)
    _publish(config, config.rabbit_exchange, config.rabbit_routing, messages, with_ids)
    _wait_for_depth(config, config.rabbit_queue, len(messages))

    # The consumer starts only now, with the whole backlog waiting.
    listener = container.rabbit_listener()
    metrics = container.metrics()
    finished = threading.Event()
    timing = {"started": 0.0, "ended": 0.0}

    # The clock starts when the consumer resumes: its basic.consume is confirmed, and the
    # broker starts delivering the backlog. Connecting and declaring are not timed.
    def watch() -> None:
        while not listener.readiness().get("broker"):
            time.sleep(0.0005)
        timing["started"] = time.perf_counter()
        while metrics.snapshot()["stored"] < measures:
            time.sleep(0.002)
        timing["ended"] = time.perf_counter()
        finished.set()
        listener.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    listener.run()
    finished.wait()
    elapsed = timing["ended"] - timing["started"]
    counts = metrics.snapshot()
    container.storage_connector().close()
    _clean(config, configuration)
    return len(messages) / elapsed, measures / elapsed, counts


def _declare(config: Config, configuration: RabbitConfiguration) -> None:
    connection = pika.BlockingConnection(_parameters(config))
    channel = connection.channel()
    channel.exchange_declare(configuration.exchange, "direct", durable=True)
    channel.queue_declare(configuration.queue, durable=True)
    channel.queue_bind(configuration.queue, configuration.exchange, configuration.routing)
    connection.close()


def _clean(config: Config, configuration: RabbitConfiguration) -> None:
    connection = pika.BlockingConnection(_parameters(config))
    channel = connection.channel()
    channel.queue_delete(configuration.queue)
    channel.queue_delete(configuration.dead_letter_queue)
    channel.exchange_delete(configuration.exchange)
    channel.exchange_delete(configuration.dead_letter_exchange)
    connection.close()
    connector = _connector(config)
    with connector.transaction() as cursor:
        cursor.execute("DELETE FROM measures")
        cursor.execute("DELETE FROM consumed_messages")


def _connector(config: Config) -> StorageConnector:
    """A connector wired as the app wires it, from ``config``."""
    return create_container(config).storage_connector()


def _prepare_database(config: Config) -> Callable[[], None]:
    connector = _connector(config)
    upgrade(connector)
    with connector.transaction() as cursor:
        cursor.execute("INSERT INTO experiments (name) VALUES (%s)", (EXPERIMENT,))

    def drop() -> None:
        connection = connector.open(with_database=False)
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{config.db_database}`")
        connection.close()

    return drop


def main() -> None:
    """Run the measurements (interleaved, several rounds) and print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--array-messages", type=int, default=2_000)
    parser.add_argument("--array-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of (a) to (d); each figure is the median of its rounds")
    parser.add_argument("--batch-size", type=int, help="RABBIT_BATCH_SIZE for (c) and (d)")
    parser.add_argument("--prefetch", type=int, help="RABBIT_PREFETCH for all consumers")
    parser.add_argument("--with-ids", action="store_true",
                        help="also run (c) with a message id on every message")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = _config(args.batch_size, args.prefetch)
    drop = _prepare_database(config)
    try:
        _run(config, args)
    finally:
        drop()


def _run(config: Config, args: argparse.Namespace) -> None:
    print(f"mysql.connector {mysql.connector.__version__}, "
          f"C extension: {mysql.connector.HAVE_CEXT}; pika {pika.__version__}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not mysql.connector.HAVE_CEXT:
        print("WARNING: mysql.connector runs in pure Python (its C extension did not load); "
              "inserts are about 1.6x slower than with it")
    print(f"prefetch {config.rabbit_prefetch}, batch size {config.rabbit_batch_size}, "
          f"flush {config.rabbit_flush_seconds} s; {args.rounds} rounds, medians shown")
    singles = [json.dumps(_measure(i)).encode() for i in range(args.messages)]
    arrays = [
        json.dumps([_measure(m * args.array_size + i) for i in range(args.array_size)]).encode()
        for m in range(args.array_messages)
    ]
    total = args.array_messages * args.array_size
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)
        print(f"  round {len(figures[name])}: {name} {value:,.0f}", flush=True)

    # Interleaved rounds, so that a busy moment of the machine weighs on every figure.
    for _ in range(args.rounds):
        note("a", raw_consume(config, args.messages, ack_every=1))
        note("c", mymonit_consume(config, singles, args.messages)[0])
        note("a_multi", raw_consume(config, args.messages, ack_every=500))
        note("b", raw_insert(config, total))
        note("b_prebuilt", raw_insert(config, total, prebuilt=True))
        note("d", mymonit_consume(config, arrays, total)[1])
        if args.with_ids:
            note("c_ids", mymonit_consume(config, singles, args.messages, with_ids=True)[0])

    median = {name: statistics.median(values) for name, values in figures.items()}
    print()
    print(f"(a)  raw pika consume, ack per message:        {median['a']:>10,.0f} messages/s")
    print(f"(a') raw pika consume, ack per 500 messages:    "
          f"{median['a_multi']:>10,.0f} messages/s")
    print(f"(b)  raw executemany insert, 5,000 per commit:  {median['b']:>10,.0f} rows/s")
    print(f"(b') raw prebuilt multi-row INSERT, 5,000/commit: "
          f"{median['b_prebuilt']:>10,.0f} rows/s")
    print(f"(c)  MyMONIT, {args.messages:,} single-measure messages: "
          f"{median['c']:>10,.0f} messages/s")
    if "c_ids" in median:
        print(f"(c+) the same with a message id on each: {median['c_ids']:>10,.0f} messages/s")
    print(f"(d)  MyMONIT, {args.array_messages:,} messages of {args.array_size} measures: "
          f"{median['d']:>10,.0f} measures/s")
    print()
    print(f"(c)/(a)  = {median['c'] / median['a']:6.1%}   goal >= 65 % "
          f"({'met' if median['c'] / median['a'] >= 0.65 else 'NOT met'})")
    print(f"(c)/(a') = {median['c'] / median['a_multi']:6.1%}   "
          "(reference: raw with MyMONIT's acks)")
    print(f"(d)/(b)  = {median['d'] / median['b']:6.1%}   goal >= 70 % "
          f"({'met' if median['d'] / median['b'] >= 0.70 else 'NOT met'})")
    print(f"(d)/(b') = {median['d'] / median['b_prebuilt']:6.1%}   "
          "(reference: raw with MyMONIT's SQL)")


if __name__ == "__main__":
    main()
