"""Unit tests of the leak check and the field reader that the end-to-end tests rely on."""

from __future__ import annotations

import json
from collections import namedtuple

from support.logstash_listener import field, find_leaks
from support.personal_data import PersonalData, lines_of

Account = namedtuple("Account", "uid email token")

SECRETS = ["Jérôme Lévêque", "jerome@example.org", "uid-7f3a9"]


def test_nothing_found_in_clean_texts():
    texts = ["audit users.get success user=S123 status=200", '{"user": {"id": "S123"}}']
    assert find_leaks(texts, SECRETS) == []


def test_finds_a_secret_whatever_its_case_and_names_it_by_index():
    leaks = find_leaks(["ok", "mail sent to JEROME@example.ORG"], SECRETS)
    assert [(leak.secret, leak.text, leak.offset) for leak in leaks] == [(1, 1, 13)]
    assert "jerome@" not in str(leaks[0])


def test_finds_a_secret_escaped_by_json_or_encoded_in_a_url():
    as_json = json.dumps({"name": SECRETS[0]})
    assert "Jérôme" not in as_json
    in_url = "GET /users?email=jerome%40example.org"
    leaks = find_leaks([as_json, in_url], SECRETS)
    assert {(leak.secret, leak.form) for leak in leaks} == {
        (0, "JSON-escaped"),
        (1, "URL-encoded"),
    }


def test_one_leak_per_secret_and_text():
    assert len(find_leaks(["uid-7f3a9 and again uid-7f3a9"], SECRETS)) == 1


def test_secrets_too_short_to_mean_anything_are_skipped():
    assert find_leaks(["a b c"], ["a", ""]) == []


def test_field_reads_dotted_paths():
    event = {"http": {"response": {"status_code": 403}}, "user": {"id": "S1"}}
    assert field(event, "http.response.status_code") == 403
    assert field(event, "user.name", "none") == "none"
    assert field(event, "user.id.more") is None


def test_personal_data_keeps_user_fields_of_user_bodies_only():
    recorded = PersonalData()
    recorded.add_body("/users/", {"user_id": "S1", "name": "Nora", "email": "n@x.org",
                                  "username": "uid-n", "role": "SCIENTIST"})
    recorded.add_body("/users/S1", json.dumps({"name": "Nora N.", "email": 7}))
    recorded.add_body("/users/", '{"user_id": "B1", "name": ')
    recorded.add_body("/experiments/", {"name": "device-vibrations"})
    recorded.add_account(Account("uid-7f3a9", "jerome@example.org", "token"))
    recorded.add("", None, "Nora")

    assert recorded.values() == ["Nora", "n@x.org", "uid-n", "Nora N.", "uid-7f3a9",
                                 "jerome@example.org"]


def test_lines_of_decodes_and_splits_what_was_captured():
    assert lines_of([b"a\nb", "c"]) == ["a", "b", "c"]
