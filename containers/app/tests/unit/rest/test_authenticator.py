"""The Authenticator, its token cache and the Firebase verifier, with the SDK mocked."""

from __future__ import annotations

from unittest import mock

import pytest
from firebase_admin import auth, exceptions

from my_monit.config import ConfigurationError
from my_monit.errors import Forbidden, Unavailable
from my_monit.rest import authenticator as module
from my_monit.rest.authenticator import (
    Authenticator,
    FirebaseTokenVerifier,
    TokenCache,
    Unauthenticated,
)
from my_monit.rest.configuration import RestConfiguration

from rest_doubles import ADMIN

TOKEN = "header.payload.signature"


class Clock:  # pylint: disable=too-few-public-methods  # a settable time.time
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifier() -> mock.Mock:
    """A TokenVerifier accepting any token as uid-admin, valid for an hour."""
    double = mock.Mock()
    double.verify.return_value = ("uid-admin", 1000.0 + 3600)
    return double


@pytest.fixture
def users() -> mock.Mock:
    """A UserService signing uid-admin in."""
    double = mock.Mock()
    double.authenticate.return_value = ADMIN
    return double


@pytest.fixture
def clock() -> Clock:
    """The cache's clock."""
    return Clock()


@pytest.fixture
def authenticator(verifier: mock.Mock, users: mock.Mock, clock: Clock) -> Authenticator:
    """An Authenticator with a 60-second cache of 2 tokens."""
    return Authenticator(verifier, users, TokenCache(2, 60.0, clock))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer a.b.c.d",
        "Bearer a.b.c extra",
        "Bearer é.b.c",
        "Bearer " + "a" * 9000 + ".b.c",
    ],
)
def test_authenticate_refuses_a_missing_or_malformed_header_without_verifying(
    authenticator: Authenticator, verifier: mock.Mock, header: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(header)
    verifier.verify.assert_not_called()


def test_authenticate_maps_the_verified_uid_to_its_user(
    authenticator: Authenticator, verifier: mock.Mock, users: mock.Mock
) -> None:
    assert authenticator.authenticate(f"bearer {TOKEN}") is ADMIN

    verifier.verify.assert_called_once_with(TOKEN)
    users.authenticate.assert_called_once_with("uid-admin")


def test_authenticate_caches_the_uid_but_looks_the_user_up_each_time(
    authenticator: Authenticator, verifier: mock.Mock, users: mock.Mock
) -> None:
    for _ in range(3):
        authenticator.authenticate(f"Bearer {TOKEN}")

    assert verifier.verify.call_count == 1
    assert users.authenticate.call_count == 3


def test_authenticate_verifies_again_after_the_cache_time(
    authenticator: Authenticator, verifier: mock.Mock, clock: Clock
) -> None:
    authenticator.authenticate(f"Bearer {TOKEN}")
    clock.now += 61

    authenticator.authenticate(f"Bearer {TOKEN}")

    assert verifier.verify.call_count == 2


def test_authenticate_verifies_again_once_the_token_expired(
    authenticator: Authenticator, verifier: mock.Mock, clock: Clock
) -> None:
    verifier.verify.return_value = ("uid-admin", clock.now + 10)
    authenticator.authenticate(f"Bearer {TOKEN}")
    clock.now += 11
    verifier.verify.side_effect = Unauthenticated("invalid ID token (ExpiredIdTokenError)")

    with pytest.raises(Unauthenticated):
        authenticator.authenticate(f"Bearer {TOKEN}")


def test_authenticate_does_not_cache_a_refused_token(
    authenticator: Authenticator, verifier: mock.Mock
) -> None:
    verifier.verify.side_effect = Unauthenticated("invalid ID token (InvalidIdTokenError)")

    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(f"Bearer {TOKEN}")

    assert verifier.verify.call_count == 2


def test_authenticate_of_a_uid_without_user_is_forbidden(
    authenticator: Authenticator, users: mock.Mock
) -> None:
    users.authenticate.side_effect = Forbidden("sign-in", None, "no MyMONIT user")

    with pytest.raises(Forbidden):
        authenticator.authenticate(f"Bearer {TOKEN}")


def test_token_cache_forgets_the_least_recently_used_beyond_its_size(clock: Clock) -> None:
    cache = TokenCache(2, 60.0, clock)
    cache.put(b"a", "uid-a", clock.now + 100)
    cache.put(b"b", "uid-b", clock.now + 100)
    assert cache.get(b"a") == "uid-a"  # a is now the most recently used

    cache.put(b"c", "uid-c", clock.now + 100)

    assert cache.get(b"b") is None
    assert cache.get(b"a") == "uid-a" and cache.get(b"c") == "uid-c"


# FirebaseTokenVerifier, with the SDK's verify_id_token replaced


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """firebase_admin.auth.verify_id_token, mocked."""
    verify = mock.Mock(return_value={"uid": "uid-admin", "exp": 4000})
    monkeypatch.setattr(module.auth, "verify_id_token", verify)
    return verify


def test_firebase_verifier_gives_uid_and_expiry(sdk: mock.Mock) -> None:
    verifier = FirebaseTokenVerifier(RestConfiguration(project_id="demo-p"))

    assert verifier.verify(TOKEN) == ("uid-admin", 4000.0)
    assert sdk.call_args.kwargs["check_revoked"] is False


def test_firebase_verifier_checks_revocation_with_the_emulator(sdk: mock.Mock) -> None:
    verifier = FirebaseTokenVerifier(
        RestConfiguration(project_id="demo-p", emulator_host="127.0.0.1:9099")
    )

    verifier.verify(TOKEN)

    assert sdk.call_args.kwargs["check_revoked"] is True


@pytest.mark.parametrize(
    "error",
    [
        auth.InvalidIdTokenError("bad"),
        auth.ExpiredIdTokenError("old", cause=None),
        auth.RevokedIdTokenError("revoked"),
        auth.UserDisabledError("disabled"),
        ValueError("not a JWT"),
    ],
)
def test_firebase_verifier_refuses_bad_tokens_as_unauthenticated(
    sdk: mock.Mock, error: Exception
) -> None:
    sdk.side_effect = error
    verifier = FirebaseTokenVerifier(RestConfiguration(project_id="demo-p"))

    with pytest.raises(Unauthenticated, match=type(error).__name__):
        verifier.verify(TOKEN)


def test_firebase_verifier_without_certificates_is_unavailable(sdk: mock.Mock) -> None:
    sdk.side_effect = auth.CertificateFetchError("timed out", cause=None)
    verifier = FirebaseTokenVerifier(RestConfiguration(project_id="demo-p"))

    with pytest.raises(Unavailable):
        verifier.verify(TOKEN)


def test_firebase_verifier_with_unreadable_credentials_is_a_configuration_error(
    tmp_path: object,
) -> None:
    with pytest.raises(ConfigurationError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        FirebaseTokenVerifier(
            RestConfiguration(project_id="p", credentials_file=f"{tmp_path}/missing.json")
        )


def test_firebase_verifier_takes_certificates_from_the_configured_url() -> None:
    verifier = FirebaseTokenVerifier(
        RestConfiguration(project_id="p", certs_url="http://127.0.0.1:1/certs")
    )

    client = auth._get_client(verifier._app)  # pylint: disable=protected-access
    token_verifier = client._token_verifier  # pylint: disable=protected-access
    assert token_verifier.id_token_verifier.cert_url == "http://127.0.0.1:1/certs"


def test_firebase_verifier_is_unavailable_as_a_firebase_error(sdk: mock.Mock) -> None:
    sdk.side_effect = exceptions.UnavailableError("down")
    verifier = FirebaseTokenVerifier(RestConfiguration(project_id="demo-p"))

    with pytest.raises(Unavailable):
        verifier.verify(TOKEN)


# RestConfiguration.check: the emulator guard


@pytest.mark.parametrize("project", [None, "", "my-real-project", "demonstration"])
def test_emulator_with_a_project_not_starting_with_demo_is_refused(project: str | None) -> None:
    configuration = RestConfiguration(project_id=project, emulator_host="127.0.0.1:9099")

    with pytest.raises(ConfigurationError, match="demo-"):
        configuration.check()


def test_emulator_with_a_demo_project_is_allowed() -> None:
    RestConfiguration(project_id="demo-mymonit", emulator_host="127.0.0.1:9099").check()


def test_production_needs_a_project_id_or_credentials() -> None:
    with pytest.raises(ConfigurationError, match="FIREBASE_PROJECT_ID"):
        RestConfiguration().check()
    RestConfiguration(credentials_file="/run/secrets/firebase.json").check()


@pytest.mark.parametrize(
    "url", ["https://certs.example.org/x", "ftp://127.0.0.1/x", "http://10.0.0.1/x", "certs"]
)
def test_a_certificate_url_off_the_loopback_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="FIREBASE_CERTS_URL"):
        RestConfiguration(project_id="p", certs_url=url).check()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/certs", "http://localhost/certs", "https://[::1]:9/c"]
)
def test_a_certificate_url_on_the_loopback_is_allowed_with_a_warning(url: str) -> None:
    configuration = RestConfiguration(project_id="p", certs_url=url)
    configuration.check()
    assert any("FIREBASE_CERTS_URL" in warning for warning in configuration.warnings())
