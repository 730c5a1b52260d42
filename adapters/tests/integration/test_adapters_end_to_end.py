"""Each adapter publishes into the real RabbitMQ; the real consumer stores its measures."""

from __future__ import annotations

import json
import os
import signal
import subprocess  # nosec B404 - the tests run the adapters' commands
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from conftest import EXPERIMENT

pytestmark = pytest.mark.integration


def test_stdin_adapter_publishes_each_line(stack):
    lines = b"1.5\n# comment\n1650000000 2.5\n2022-04-06T07:00:00Z 3.5\nnot a number\n"
    result = stack.run("mymonit-stdin", "--experiment", EXPERIMENT, "--measure", "hertz",
                       stdin=lines)
    assert result.returncode == 0, result.stderr
    assert b"published 3 measures, skipped 1 lines" in result.stderr
    assert stack.wait_for_measures(3) == [(EXPERIMENT, "hertz", 1.5), (EXPERIMENT, "hertz", 2.5),
                                          (EXPERIMENT, "hertz", 3.5)]


def test_stdin_adapter_follows_a_file_with_tail(stack, tmp_path):
    readings = tmp_path / "readings.log"
    readings.write_text("10\n")
    follower = subprocess.Popen(  # nosec B602 B607 - a fixed pipeline of the test
        f"tail -n +1 -f {readings} | mymonit-stdin --experiment {EXPERIMENT} --measure volt",
        shell=True, env=stack.environment, start_new_session=True,
        stderr=subprocess.PIPE)
    try:
        assert len(stack.wait_for_measures(1)) == 1
        with readings.open("a") as appended:
            appended.write("11\n12\n")
        assert [row[2] for row in stack.wait_for_measures(3)] == [10.0, 11.0, 12.0]
    finally:
        os.killpg(follower.pid, signal.SIGTERM)
        follower.wait(10)


def test_replay_adapter_publishes_a_csv_file_once_even_when_run_twice(stack, tmp_path):
    data = tmp_path / "history.csv"
    data.write_text("timestamp,value,measure\n" + "".join(
        f"{1650000000 + i},{i},{'watt' if i % 2 else 'volt'}\n" for i in range(1000)))
    command = ("mymonit-replay", str(data), "--experiment", EXPERIMENT, "--batch-size", "100",
               "--no-progress")
    first = stack.run(*command)
    assert first.returncode == 0, first.stderr
    assert b"published 1000 measures, skipped 0 records" in first.stderr
    assert len(stack.wait_for_measures(1000)) == 1000
    again = stack.run(*command)
    assert again.returncode == 0
    time.sleep(1.0)
    rows = stack.measures()
    assert len(rows) == 1000 and rows[1] == (EXPERIMENT, "watt", 1.0)


def test_replay_adapter_publishes_json_lines(stack, tmp_path):
    data = tmp_path / "history.jsonl"
    data.write_text("\n".join(json.dumps({"value": i, "timestamp": "2022-04-06T07:00:00Z"})
                              for i in range(10)))
    result = stack.run("mymonit-replay", str(data), "--experiment", EXPERIMENT,
                       "--measure", "pascal", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert [row[2] for row in stack.wait_for_measures(10)] == [float(i) for i in range(10)]


def test_mqtt_bridge_forwards_qos1_readings(stack, tmp_path):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    log = (tmp_path / "bridge.log").open("wb")
    bridge = subprocess.Popen(  # nosec B603 B607 - the adapter's own command
        ["mymonit-mqtt", "--topic", f"{prefix}/{{experiment}}/{{measure}}",
         "--client-id", f"bridge-{prefix}"],
        env=stack.environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_text(tmp_path / "bridge.log", "subscribed to")
        sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sensor-{prefix}")
        sensor.connect("127.0.0.1", 1883)
        sensor.loop_start()
        infos = [sensor.publish(f"{prefix}/{EXPERIMENT}/tesla", str(i / 4), qos=1)
                 for i in range(20)]
        infos.append(sensor.publish(f"{prefix}/{EXPERIMENT}/tesla",
                                    json.dumps({"value": 99, "timestamp": 1650000000}), qos=1))
        for info in infos:
            info.wait_for_publish(10)
        sensor.loop_stop()
        sensor.disconnect()
        rows = stack.wait_for_measures(21)
        assert [row[2] for row in rows] == [i / 4 for i in range(20)] + [99.0]
        assert {row[1] for row in rows} == {"tesla"}
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(15) == 0
    finally:
        if bridge.poll() is None:
            bridge.kill()
        log.close()


def _wait_for_text(path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path.read_text(errors='replace')}")
