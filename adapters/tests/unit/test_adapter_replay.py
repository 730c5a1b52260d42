"""Unit tests of mymonit-replay: CSV and JSON lines, batches, ids, bad records."""

from __future__ import annotations

import json

import pytest

from mymonit_adapters import replay as replay_module
from mymonit_adapters.publisher import AdapterError
from mymonit_adapters.replay import Replay, main, replay


class FakePublisher:
    """Records array messages and their ids."""

    def __init__(self, *_args) -> None:
        self.messages = []
        self.fail = False

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return None

    def publish_measures(self, measures, message_id=None):
        if self.fail:
            raise AdapterError("RabbitMQ unavailable")
        self.messages.append((message_id, list(measures)))
        return message_id


def _csv(tmp_path, rows: int):
    path = tmp_path / "data.csv"
    path.write_text("timestamp,value\n" + "".join(f"{1650000000 + i},{i}\n"
                                                   for i in range(rows)))
    return path


def test_csv_records_go_out_in_batches(tmp_path):
    publisher = FakePublisher()
    published, skipped = replay(Replay(_csv(tmp_path, 7), "csv", "e", "hertz", 3), publisher,
                                progress=False)
    assert (published, skipped) == (7, 0)
    assert [len(measures) for _, measures in publisher.messages] == [3, 3, 1]
    assert publisher.messages[0][1][0] == {"experiment": "e", "measure": "hertz",
                                           "value": 0.0, "timestamp": 1650000000.0}


def test_message_ids_depend_on_content_and_batch_size_only(tmp_path):
    first, again, other = FakePublisher(), FakePublisher(), FakePublisher()
    path = _csv(tmp_path, 5)
    replay(Replay(path, "csv", "e", "hertz", 2), first, progress=False)
    replay(Replay(path, "csv", "e", "hertz", 2), again, progress=False)
    replay(Replay(path, "csv", "e", "hertz", 3), other, progress=False)
    ids = [message_id for message_id, _ in first.messages]
    assert ids == [message_id for message_id, _ in again.messages] and len(set(ids)) == 3
    assert not set(ids) & {message_id for message_id, _ in other.messages}


def test_json_lines_with_their_own_names_and_bad_records(tmp_path, caplog):
    path = tmp_path / "data.jsonl"
    lines = [
        {"experiment": "a", "measure": "volt", "value": 1, "timestamp": "2022-04-06T07:00:00Z"},
        {"value": 2, "timestamp": 1650000000},
        {"value": "x", "timestamp": 1},
        {"value": 3},
        [1, 2],
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n\n")
    publisher = FakePublisher()
    published, skipped = replay(Replay(path, "jsonl", "dflt", "hertz", 10), publisher,
                                progress=False)
    assert (published, skipped) == (2, 4)
    (_, measures), = publisher.messages
    assert [(m["experiment"], m["measure"]) for m in measures] == [("a", "volt"),
                                                                   ("dflt", "hertz")]
    assert "line 6 skipped: the line is not JSON" in caplog.text


def test_records_without_names_need_the_defaults(tmp_path):
    publisher = FakePublisher()
    assert replay(Replay(_csv(tmp_path, 2), "csv", None, None, 10), publisher,
                  progress=False) == (0, 2)


@pytest.fixture(name="fake")
def fixture_fake(monkeypatch):
    publisher = FakePublisher()
    monkeypatch.setattr(replay_module, "MeasurePublisher", lambda *_: publisher)
    return publisher


def test_command_replays_a_file(tmp_path, fake):
    assert main([str(_csv(tmp_path, 4)), "--experiment", "e", "--measure", "hertz",
                 "--batch-size", "2", "--no-progress"]) == 0
    assert len(fake.messages) == 2


def test_command_exits_1_when_the_broker_fails(tmp_path, fake):
    fake.fail = True
    assert main([str(_csv(tmp_path, 4)), "--experiment", "e", "--measure", "hertz",
                 "--no-progress"]) == 1


def test_command_refuses_unknown_formats_and_bad_batch_sizes(tmp_path, fake):
    unknown = tmp_path / "data.txt"
    unknown.write_text("1\n")
    with pytest.raises(SystemExit):
        main([str(unknown)])
    with pytest.raises(SystemExit):
        main([str(_csv(tmp_path, 1)), "--batch-size", "0"])
    assert main([str(tmp_path / "missing.csv"), "--experiment", "e", "--measure", "m"]) == 1
