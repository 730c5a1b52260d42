"""Sign-in through nginx with emulator tokens: what is refused with 401 and what with 403."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from world import Api, World, add_scientist, assert_problem  # pylint: disable=import-error

pytestmark = pytest.mark.e2e


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def _unsigned(claims: dict[str, Any]) -> str:
    """An unsigned token as the emulator issues them, with these claims."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_token_crafted_like_the_emulators_is_accepted(api: Api, world: World) -> None:
    # The control for the refusals below: the same crafting with untouched claims works.
    token = _unsigned(_claims(world.outsider.account.token))

    response = api.call("GET", "/users/me", f"Bearer {token}")

    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == world.outsider.user_id


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 60, "iat": int(time.time()) - 3700},
        {"aud": "demo-another-project", "iss": "https://securetoken.google.com/demo-another"},
        {"iss": "https://evil.example.org/demo-mymonit"},
        {"sub": ""},
    ],
    ids=["expired", "another project", "another issuer", "no subject"],
)
def test_token_with_bad_claims_is_refused_with_401(
    api: Api, world: World, changes: dict[str, Any]
) -> None:
    token = _unsigned({**_claims(world.outsider.account.token), **changes})

    response = api.call("GET", "/users/me", f"Bearer {token}")

    assert response.status_code == 401, response.text
    assert_problem(response, 401, world.personal_data())


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Bearer ", "bearer", "Token abc.def.ghi",
     "Bearer " + "a" * 8000, "Bearer a.b.c d.e.f"],
    ids=["basic", "no token", "blank token", "scheme only", "another scheme", "long", "two"],
)
def test_malformed_authorization_is_refused_with_401(
    api: Api, world: World, authorization: str
) -> None:
    response = api.call("GET", "/experiments/", authorization)

    assert response.status_code == 401, response.text
    assert_problem(response, 401, world.personal_data())


def test_account_deleted_at_firebase_is_refused(api: Api, world: World) -> None:
    emulator = world.stack.emulator
    account = emulator.create_account()
    add_scientist(world.storage, account, "Dora Deleted")
    emulator.delete_account(account.uid)

    response = api.call("GET", "/users/me", f"Bearer {account.token}")

    assert response.status_code == 401, response.text


def test_account_disabled_at_firebase_is_refused(api: Api, world: World) -> None:
    emulator = world.stack.emulator
    account = emulator.create_account()
    add_scientist(world.storage, account, "Dan Disabled")
    emulator.update_account(account.uid, disableUser=True)

    response = api.call("GET", "/users/me", f"Bearer {account.token}")

    assert response.status_code == 401, response.text


def test_revoked_tokens_are_refused(api: Api, world: World) -> None:
    emulator = world.stack.emulator
    account = emulator.create_account()
    add_scientist(world.storage, account, "Rita Revoked")
    time.sleep(1.1)  # revocation counts in whole seconds after the token was issued
    emulator.update_account(account.uid, validSince=str(int(time.time())))

    response = api.call("GET", "/users/me", f"Bearer {account.token}")

    assert response.status_code == 401, response.text


def test_token_of_a_firebase_account_without_user_is_forbidden(api: Api, world: World) -> None:
    response = api.call("GET", "/measure-types/", world.authorization("stranger"))

    assert response.status_code == 403
    assert_problem(response, 403, world.personal_data())


def test_header_too_large_for_nginx_gets_a_problem(api: Api, world: World) -> None:
    response = api.call("GET", "/experiments/", "Bearer " + "a.b." * 5000)

    assert response.status_code == 431, response.text
    assert_problem(response, 431, world.personal_data())
