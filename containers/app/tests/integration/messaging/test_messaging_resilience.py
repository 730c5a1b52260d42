"""Integration tests of the consumer through crashes and outages: nothing lost, nothing twice."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time

import pytest
from messaging_support import (
    Broker, ConsumerThread, Database, TcpProxy, certificate_authority, close_connection_named,
    free_port, mariadb_server, measure, messaging_config, start_consumer_process, wait_until,
)

pytestmark = pytest.mark.integration


class Stream:
    """Publishes messages with ids from a thread of its own, a little at a time."""

    def __init__(self, config, count: int, per_second: float | None = None) -> None:
        self.count = count
        self.published = 0
        self._config = config
        self._pause = 1 / per_second if per_second else 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        broker = Broker(self._config)
        try:
            for index in range(self.count):
                broker.publish(measure(float(index)), f"stream-{index}")
                self.published += 1
                if self._pause:
                    time.sleep(self._pause)
        finally:
            broker.connection_close()

    def join(self) -> None:
        """Wait until every message is published."""
        self._thread.join(120)
        assert self.published == self.count


def _assert_each_stored_once(database, count: int) -> None:
    values = database.values()
    assert len(values) == count
    assert sorted(values) == [float(i) for i in range(count)]


def test_consumer_killed_mid_stream_and_restarted_stores_everything_once(
        config, database, broker, tmp_path):
    # Paced, so that the kill lands while the stream still runs (asserted below).
    stream = Stream(config, 6000, per_second=1500)
    log = tmp_path / "consumer.log"
    consumer = start_consumer_process(config, log)
    try:
        wait_until(lambda: database.count() >= 1000, timeout=60)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(10)
        published_at_kill = stream.published
        killed_at = database.count()
        consumer = start_consumer_process(config, log)
        stream.join()
        wait_until(lambda: database.count() >= 6000, timeout=90)
        wait_until(lambda: broker.depth() == 0, timeout=30)
        time.sleep(0.5)  # a duplicate would land now
    finally:
        consumer.terminate()
        consumer.wait(30)
    assert killed_at < 6000 and published_at_kill < 6000, (killed_at, published_at_kill)
    _assert_each_stored_once(database, 6000)
    assert database.query("SELECT COUNT(*) FROM consumed_messages")[0][0] == 6000


def test_sigterm_stops_cleanly_and_leaves_unstored_messages_queued(
        config, database, broker, tmp_path):
    for index in range(3000):
        broker.publish(measure(float(index)), f"m-{index}")
    log = tmp_path / "consumer.log"
    consumer = start_consumer_process(config, log)
    try:
        wait_until(lambda: database.count() > 0, timeout=60)
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(30) == 0
    finally:
        if consumer.poll() is None:
            consumer.kill()
    # What was stored was acked; everything else is back in the queue, nothing lost.
    wait_until(lambda: database.count() + broker.depth() == 3000, timeout=30)
    text = log.read_text()
    assert "consumer stopped with exit code 0" in text
    assert "device-vibrations" not in text  # no bodies in the logs


def _outage_mid_stream(config, broker, consumer_config, take_down, bring_back) -> None:
    """Stream 3,000 messages; take the database away for a while in the middle; check all.

    While it is away, nothing is stored and the consumer is not ready; once it is back,
    everything is stored once, nothing is dead-lettered and the broker connection held.
    """
    database = Database(config)
    database.add_experiment()
    with ConsumerThread(consumer_config) as consumer:
        stream = Stream(config, 3000, per_second=1500)
        wait_until(lambda: database.count() >= 300, timeout=60)
        take_down()
        wait_until(lambda: consumer.listener.readiness()["database"] is False, timeout=30)
        wait_until(lambda: consumer.metrics.snapshot()["database_retries"] >= 2, timeout=30)
        assert consumer.listener.readiness()["storing"] is False
        time.sleep(1.0)  # away for a while, as the stream goes on
        bring_back()
        stream.join()
        wait_until(lambda: database.count() >= 3000, timeout=120)
        wait_until(lambda: broker.depth() == 0, timeout=30)
        wait_until(lambda: all(consumer.listener.readiness().values()), timeout=60)
        counts = consumer.metrics.snapshot()
        assert (counts["reconnects"], counts["dead_lettered"]) == (0, 0), counts
    assert consumer.code == 0
    assert broker.depth(broker.dead_queue) == 0
    _assert_each_stored_once(database, 3000)


def test_database_unreachable_mid_stream_loses_nothing_and_ingest_resumes(config, broker):
    """The network to the database is cut (its connections hang up), then restored."""
    proxy = TcpProxy(config.db_port, config.db_host)
    try:
        _outage_mid_stream(config, broker, dataclasses.replace(config, db_port=proxy.port),
                           proxy.cut, proxy.restore)
    finally:
        proxy.close()


def test_mariadb_shut_down_mid_stream_loses_nothing_and_ingest_resumes(config, broker):
    """The real server stops (its errors: shutdown, lost connection), then comes back."""
    try:
        _outage_mid_stream(config, broker, config, lambda: mariadb_server("stop"),
                           lambda: mariadb_server("start"))
    finally:
        mariadb_server("start")


def test_broker_closing_the_connection_makes_the_consumer_reconnect(config, database, broker):
    with ConsumerThread(config) as consumer:
        for index in range(100):
            broker.publish(measure(float(index)), f"before-{index}")
        wait_until(lambda: database.count() == 100)
        assert close_connection_named(consumer.connection_name) == 1
        wait_until(lambda: consumer.metrics.snapshot()["reconnects"] >= 1)
        wait_until(lambda: consumer.listener.readiness()["broker"], timeout=30)
        for index in range(100, 200):
            broker.publish(measure(float(index)), f"after-{index}")
        wait_until(lambda: database.count() == 200)
    _assert_each_stored_once(database, 200)


def test_consumer_gives_up_with_exit_code_1_when_the_broker_stays_away(config):
    unreachable = messaging_config(config, rabbit_url=f"127.0.0.1:{free_port()}",
                                   rabbit_reconnect_seconds=2.0)
    consumer = ConsumerThread(unreachable)
    thread = threading.Thread(target=consumer._run)  # pylint: disable=protected-access
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and consumer.code == 1
    assert consumer.listener.readiness()["broker"] is False
    consumer.stop()


def test_amqps_with_a_ca_file_consumes_through_tls(config, database, broker, tmp_path):
    ca_file, server_context = certificate_authority(tmp_path)
    proxy = TcpProxy(5672, tls=server_context)
    secured = messaging_config(config, rabbit_url=f"amqps://localhost:{proxy.port}",
                               rabbit_ca_file=str(ca_file),
                               rabbit_exchange=config.rabbit_exchange,
                               rabbit_queue=config.rabbit_queue)
    try:
        with ConsumerThread(secured):
            broker.publish(measure(42.0), "over-tls")
            wait_until(lambda: database.values() == [42.0])
    finally:
        proxy.close()
