"""Unit tests of mymonit-mqtt: topic templates, payloads, and acks after confirms."""

from __future__ import annotations

from types import SimpleNamespace

import paho.mqtt.client as mqtt_client
import pytest

from mymonit_adapters import mqtt as mqtt_module
from mymonit_adapters.mqtt import MqttBridge, TopicMap, reading
from mymonit_adapters.publisher import AdapterError, InvalidReading


def test_template_gives_the_subscription_and_the_names():
    topic_map = TopicMap("lab/{experiment}/{measure}")
    assert topic_map.subscription == "lab/+/+"
    assert topic_map.names("lab/vibrations/hertz") == ("vibrations", "hertz")
    assert topic_map.names("lab/vibrations") is None
    assert topic_map.names("lab/vibrations/hertz/extra") is None
    assert topic_map.names("other/vibrations/hertz") is None


def test_fixed_names_and_wildcards():
    topic_map = TopicMap("sensors/+/{measure}/#", experiment="cooling")
    assert topic_map.subscription == "sensors/+/+/#"
    assert topic_map.names("sensors/s1/volt/a/b") == ("cooling", "volt")
    assert TopicMap("sensors/temp").names("sensors/temp") is None  # names nothing


@pytest.mark.parametrize("payload, expected", [
    (b"21.5", (21.5, None)),
    (b" 7 ", (7.0, None)),
    (b'{"value": 3, "timestamp": 1650000000}', (3.0, 1650000000)),
    (b'{"value": "4.5"}', (4.5, None)),
])
def test_payloads(payload, expected):
    assert reading(payload) == expected


def test_custom_fields():
    assert reading(b'{"v": 1, "t": "2022-04-06T07:00:00Z"}', "v", "t") == (
        1.0, "2022-04-06T07:00:00Z")


@pytest.mark.parametrize("payload", [b"\xff", b"hot", b'{"temp": 1}', b"[1]", b'"x"',
                                     b'{"value": 1, "timestamp": "noon"}'])
def test_bad_payloads(payload):
    with pytest.raises(InvalidReading):
        reading(payload)


class FakeClient:
    """Records subscriptions and acks."""

    def __init__(self) -> None:
        self.subscribed = []
        self.acks = []
        self.on_connect = self.on_message = None

    def subscribe(self, topic, qos):
        self.subscribed.append((topic, qos))

    def ack(self, mid, qos):
        self.acks.append((mid, qos))


class FakePublisher:
    """Records documents; fails when told."""

    def __init__(self) -> None:
        self.documents = []
        self.message_ids = []
        self.fail = False

    def publish(self, document, message_id=None):
        if self.fail:
            raise AdapterError("RabbitMQ unavailable")
        self.documents.append(document)
        self.message_ids.append(message_id)
        return "id"


def _message(mid, topic, payload):
    return SimpleNamespace(mid=mid, qos=1, topic=topic, payload=payload)


@pytest.fixture(name="bridge")
def fixture_bridge():
    client, publisher = FakeClient(), FakePublisher()
    bridge = MqttBridge(client, publisher, [TopicMap("lab/{experiment}/{measure}")])
    return bridge, client, publisher


def test_connect_subscribes_with_qos_1(bridge):
    bridge_, client, _ = bridge
    bridge_.on_connect(client, None, None, SimpleNamespace(is_failure=False))
    assert client.subscribed == [("lab/+/+", 1)]
    bridge_.on_connect(client, None, None, SimpleNamespace(is_failure=True))
    assert len(client.subscribed) == 1


def test_reading_is_acked_after_it_is_published(bridge):
    bridge_, client, publisher = bridge
    bridge_.on_message(client, None, _message(5, "lab/vib/hertz", b"1.5"))
    assert publisher.documents[0]["experiment"] == "vib" and client.acks == [(5, 1)]
    assert bridge_.forwarded == 1


def test_a_timestamped_reading_keeps_its_message_id_when_delivered_again(bridge):
    bridge_, client, publisher = bridge
    payload = b'{"value": 2.5, "timestamp": 1650000000}'
    bridge_.on_message(client, None, _message(8, "lab/vib/hertz", payload))
    bridge_.on_message(client, None, _message(9, "lab/vib/hertz", payload))
    bridge_.on_message(client, None, _message(10, "lab/vib/volt", payload))
    first, again, other = publisher.message_ids
    assert first == again and first.startswith("mqtt-")
    assert other != first


def test_a_reading_stamped_at_arrival_gets_a_fresh_message_id(bridge):
    bridge_, client, publisher = bridge
    bridge_.on_message(client, None, _message(11, "lab/vib/hertz", b"1.5"))
    assert publisher.message_ids == [None]  # the publisher makes a random one


def test_unusable_readings_are_acked_and_dropped(bridge):
    bridge_, client, publisher = bridge
    bridge_.on_message(client, None, _message(6, "lab/vib/hertz", b"warm"))
    bridge_.on_message(client, None, _message(7, "elsewhere", b"1"))
    assert not publisher.documents and client.acks == [(6, 1), (7, 1)]
    assert bridge_.dropped == 2


def test_reading_not_confirmed_is_not_acked_and_the_bridge_stops(bridge):
    bridge_, client, publisher = bridge
    publisher.fail = True
    bridge_.on_message(client, None, _message(8, "lab/vib/hertz", b"1"))
    bridge_.on_message(client, None, _message(9, "lab/vib/hertz", b"2"))
    assert client.acks == [] and bridge_.stopping and bridge_.failure is not None


class LoopingClient(FakeClient):
    """Fails to connect once, loses the broker once, then stops the bridge."""

    def __init__(self, bridge_holder) -> None:
        super().__init__()
        self.connects = 0
        self.loops = 0
        self.disconnected = False
        self._holder = bridge_holder

    def connect(self, host, port, keepalive):
        self.connects += 1
        if self.connects == 1:
            raise ConnectionRefusedError("refused")

    def loop(self, timeout):
        self.loops += 1
        if self.loops == 3:
            self._holder[0].stopping = True
        return mqtt_client.MQTT_ERR_CONN_LOST if self.loops == 1 else mqtt_client.MQTT_ERR_SUCCESS

    def disconnect(self):
        self.disconnected = True


class AlivePublisher(FakePublisher):
    """Counts heartbeats served."""

    alive = 0

    def keep_alive(self) -> None:
        AlivePublisher.alive += 1


def test_run_reconnects_serves_heartbeats_and_stops(monkeypatch):
    monkeypatch.setattr("mymonit_adapters.mqtt.time.sleep", lambda _seconds: None)
    holder = []
    client, publisher = LoopingClient(holder), AlivePublisher()
    bridge = MqttBridge(client, publisher, [TopicMap("a/{experiment}/{measure}")])
    holder.append(bridge)
    assert bridge.run("127.0.0.1", 1883) == 0
    assert client.connects == 3 and client.disconnected and AlivePublisher.alive == 3


def test_run_exits_1_after_a_failed_forward(monkeypatch):
    holder = []
    client, publisher = LoopingClient(holder), AlivePublisher()
    client.connects = 1  # connects at once
    bridge = MqttBridge(client, publisher, [TopicMap("a/{experiment}/{measure}")])
    holder.append(bridge)
    bridge.failure = AdapterError("RabbitMQ unavailable")
    bridge.stopping = True
    assert bridge.run("127.0.0.1", 1883) == 1


def test_main_wires_the_client_and_the_bridge(monkeypatch):
    made = {}

    class Client(FakeClient):
        def __init__(self, *args, **kwargs):
            super().__init__()
            made["client"] = (args, kwargs)
            self.credentials = None

        def username_pw_set(self, user, password):
            self.credentials = (user, password)

    class Publisher(AlivePublisher):
        def __init__(self, settings, app_id):
            super().__init__()
            made["publisher"] = (settings.exchange, app_id)

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return None

    def run(self, host, port):
        made["run"] = (host, port, [m.subscription for m in self._maps])  # pylint: disable=W0212
        return 0

    monkeypatch.setattr(mqtt_module.mqtt, "Client", Client)
    monkeypatch.setattr(mqtt_module, "MeasurePublisher", Publisher)
    monkeypatch.setattr(MqttBridge, "run", run)
    monkeypatch.setenv("MQTT_PASSWORD", "pw")
    assert mqtt_module.main(["--topic", "lab/{experiment}/{measure}", "--exchange", "ex",
                             "--mqtt-user", "bridge", "--client-id", "c-1"]) == 0
    assert made["client"][1] == {"client_id": "c-1", "clean_session": False, "manual_ack": True}
    assert made["publisher"] == ("ex", "mymonit-mqtt")
    assert made["run"] == ("127.0.0.1", 1883, ["lab/+/+"])
