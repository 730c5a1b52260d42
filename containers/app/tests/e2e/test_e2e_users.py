"""Users and associations end to end: the design's sequence, erasure, roles, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from world import Api, World, add_scientist, assert_problem, unique  # pylint: disable=import-error

pytestmark = pytest.mark.e2e


def _new_user(uid: str, email: str, role: str = "SCIENTIST") -> dict[str, Any]:
    return {"user_id": unique("S"), "name": "Nora Newcomer", "username": uid, "email": email,
            "role": role}


def test_design_sequence_gives_a_new_scientist_the_measures(api: Api, world: World) -> None:
    account = world.stack.emulator.create_account()
    admin = world.admin.authorization
    scientist = f"Bearer {account.token}"
    before = api.call("GET", "/users/me", scientist)

    user = api.call("POST", "/users/", admin, json=_new_user(account.uid, account.email)).json()
    assert api.call("GET", f"/users/{user['user_id']}", admin).json() == user
    renamed = api.call("PUT", f"/users/{user['user_id']}", admin, json={"name": "Nora N."})
    experiment = api.call("POST", "/experiments/", admin, json={"name": unique("exp")}).json()
    refused = api.call("GET", f"/measures/{experiment['experiment_id']}", scientist)
    associated = api.call(
        "POST", f"/scientists-experiments/{experiment['experiment_id']}/{user['user_id']}", admin
    )
    measures = api.call("GET", f"/measures/{experiment['experiment_id']}", scientist)

    assert before.status_code == 403
    assert renamed.status_code == 200 and renamed.json()["name"] == "Nora N."
    assert renamed.json()["email"] == account.email
    assert refused.status_code == 403
    assert associated.status_code == 201
    assert measures.status_code == 200 and measures.json() == []
    mine = api.call("GET", "/experiments/", scientist).json()
    assert mine == [experiment]


def test_erased_user_cannot_sign_in_and_keeps_the_staff_id(api: Api, world: World) -> None:
    account = world.stack.emulator.create_account()
    admin = world.admin.authorization
    body = _new_user(account.uid, account.email)
    created = api.call("POST", "/users/", admin, json=body)
    api.call("POST", f"/scientists-experiments/{world.experiment_id}/{body['user_id']}", admin)
    assert api.call("GET", "/users/me", f"Bearer {account.token}").status_code == 200

    erased = api.call("DELETE", f"/users/{body['user_id']}", admin)

    assert created.status_code == 201 and erased.status_code == 204
    signed_in = api.call("GET", "/users/me", f"Bearer {account.token}")
    assert signed_in.status_code == 403
    assert_problem(signed_in, 403, [account.uid, account.email])
    assert api.call("GET", f"/users/{body['user_id']}", admin).status_code == 404
    listed = api.call("GET", "/users/", admin).json()
    assert body["user_id"] not in [user["user_id"] for user in listed]
    associations = api.call("GET", "/scientists-experiments/", admin).json()
    users = associations[str(world.experiment_id)]["users"]
    assert body["user_id"] not in [user["user_id"] for user in users]
    again = api.call("POST", "/users/", admin, json=body)
    assert again.status_code == 409
    assert_problem(again, 409, [account.uid, account.email, body["name"]])


def test_scientist_may_change_own_name_and_email_only(api: Api, world: World) -> None:
    account = world.stack.emulator.create_account()
    person = add_scientist(world.storage, account, "Sid Self")
    path = f"/users/{person.user_id}"

    email = f"{unique('sid')}@e2e.example.org"
    changed = api.call("PUT", path, person.authorization, json={"email": email})
    same_role = api.call("PUT", path, person.authorization, json={"role": "SCIENTIST"})
    promoted = api.call("PUT", path, person.authorization, json={"role": "ADMIN"})
    moved = api.call("PUT", path, person.authorization, json={"username": unique("uid")})

    assert changed.status_code == 200 and changed.json()["email"] == email
    assert same_role.status_code == 200
    assert promoted.status_code == 403 and moved.status_code == 403
    assert_problem(promoted, 403, [email, account.uid])
    assert world.user_json(person.user_id)["role"] == "SCIENTIST"
    assert world.user_json(person.user_id)["username"] == account.uid


def test_role_change_by_an_admin_takes_effect_at_once(api: Api, world: World) -> None:
    account = world.stack.emulator.create_account()
    person = add_scientist(world.storage, account, "Pia Promoted")
    assert api.call("GET", "/users/", person.authorization).status_code == 403

    promoted = api.call("PUT", f"/users/{person.user_id}", world.admin.authorization,
                        json={"role": "ADMIN"})

    assert promoted.status_code == 200 and promoted.json()["role"] == "ADMIN"
    assert api.call("GET", "/users/", person.authorization).status_code == 200


@pytest.mark.parametrize("taken", ["user_id", "email", "username"])
def test_taken_user_field_is_a_conflict_naming_the_field(
    api: Api, world: World, taken: str
) -> None:
    scientist = world.user_json(world.scientist.user_id)
    body = _new_user(unique("uid"), f"{unique('c')}@e2e.example.org")
    body[taken] = scientist[taken]

    response = api.call("POST", "/users/", world.admin.authorization, json=body)

    assert response.status_code == 409, response.text
    assert_problem(response, 409, world.personal_data())
    assert taken in response.text


def test_association_rules(api: Api, world: World) -> None:
    admin = world.admin.authorization
    experiment = f"/scientists-experiments/{world.experiment_id}"

    again = api.call("POST", f"{experiment}/{world.scientist.user_id}", admin)
    with_admin = api.call("POST", f"{experiment}/{world.admin.user_id}", admin)
    unknown_user = api.call("POST", f"{experiment}/NOBODY-1", admin)
    unknown_experiment = api.call(
        "POST", f"/scientists-experiments/987654321/{world.outsider.user_id}", admin
    )

    assert again.status_code == 409
    assert with_admin.status_code == 400
    assert unknown_user.status_code == 404
    assert unknown_experiment.status_code == 404
    for response in (again, with_admin, unknown_user, unknown_experiment):
        assert_problem(response, response.status_code, world.personal_data())
    assert not world.storage.is_associated(world.experiment_id, world.outsider.user_id)


def test_missing_user_and_experiment_are_not_found(api: Api, world: World) -> None:
    admin = world.admin.authorization

    for path in ("/users/NOBODY-2", "/experiments/987654321"):
        response = api.call("GET", path, admin)
        assert response.status_code == 404, path
        assert_problem(response, 404, [])


def test_duplicate_experiment_name_is_a_conflict(api: Api, world: World) -> None:
    response = api.call("POST", "/experiments/", world.admin.authorization,
                        json={"name": world.experiment_name})

    assert response.status_code == 409
    assert_problem(response, 409, [])


def test_admin_cannot_erase_themselves(api: Api, world: World) -> None:
    response = api.call("DELETE", f"/users/{world.admin.user_id}", world.admin.authorization)

    assert 400 <= response.status_code < 500
    assert not world.storage.get_user(world.admin.user_id).erased
