"""The production path of ID-token verification: firebase-admin, real RS256 signatures.

No emulator: a key pair and a self-signed certificate are made here, the certificate is
served as Google serves its token-signing certificates (``{kid: pem}``) on a loopback
HTTP server, and tokens are signed with PyJWT as Firebase signs them. The app's
Authenticator, with its FirebaseTokenVerifier, must accept a good token and refuse a
bad signature, an expired token, and a token for another project with 401.

An unreachable certificate endpoint is a 503 (the token may well be valid; the caller
may retry), reached within the configured timeout rather than the SDK's 120 s.
"""

from __future__ import annotations

# pytest passes fixtures by name: arguments share the names of the fixture functions.
# pylint: disable=redefined-outer-name

import socket
import time
from typing import Callable, Iterator

import jwt
import pytest

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.errors import Forbidden, Unavailable
from my_monit.model import Role, User
from my_monit.rest.authenticator import (
    Authenticator,
    FirebaseTokenVerifier,
    TokenCache,
    Unauthenticated,
)
from my_monit.rest.configuration import RestConfiguration
from my_monit.services import UserService
from support.token_signing import ISSUER, PROJECT, CertificateServer, SigningKey

pytestmark = pytest.mark.integration


class SilentServer:
    """Accept TCP connections on loopback and never answer: a certificate endpoint hung."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/certs"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()


KNOWN = User("S1", "Known", "uid-known", "known@example.org", Role.SCIENTIST)
Build = Callable[..., Authenticator]


@pytest.fixture(autouse=True)
def production_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure the SDK is not in emulator mode (it reads the variable itself)."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """The key that signs this module's good tokens."""
    return SigningKey()


@pytest.fixture
def certificates(key: SigningKey) -> Iterator[CertificateServer]:
    """A certificate endpoint serving the good key's certificate."""
    with CertificateServer(key) as server:
        yield server


@pytest.fixture
def users(clean_database: Config) -> Iterator[UserService]:
    """The app's UserService on the test database, which holds one user: KNOWN."""
    container = create_container(clean_database)
    container.storage().insert_user(KNOWN)
    yield container.user_service()
    container.storage_connector().close()


@pytest.fixture
def authenticator(users: UserService) -> Build:
    """Build the app's Authenticator on the production path, certificates from a URL."""

    def build(certs_url: str, timeout: float = 5.0) -> Authenticator:
        configuration = RestConfiguration(
            project_id=PROJECT, certs_url=certs_url, certs_timeout=timeout
        )
        return Authenticator(FirebaseTokenVerifier(configuration), users, TokenCache(100, 60.0))

    return build


def test_verification_valid_token_signs_in_its_user(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    user = authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-known')}")

    assert user.user_id == "S1"
    assert certificates.requests >= 1


def test_verification_valid_token_of_unknown_uid_is_forbidden(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    with pytest.raises(Forbidden):
        authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-stranger')}")


def test_verification_token_signed_by_another_key_is_refused(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    impostor = SigningKey()
    impostor.kid = key.kid  # same key id, different key: the signature does not verify

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {impostor.sign('uid-known')}")


def test_verification_token_with_altered_payload_is_refused(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    header, _, signature = key.sign("uid-other").split(".")
    payload = key.sign("uid-known").split(".")[1]

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {header}.{payload}.{signature}")


def test_verification_token_of_unknown_key_id_is_refused(
    authenticator: Build, certificates: CertificateServer
) -> None:
    stranger = SigningKey()

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {stranger.sign('uid-known')}")


def test_verification_expired_token_is_refused(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    past = int(time.time()) - 7200
    token = key.sign("uid-known", iat=past, auth_time=past, exp=past + 3600)

    with pytest.raises(Unauthenticated, match="Expired"):
        authenticator(certificates.url).authenticate(f"Bearer {token}")


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-project"},
        {"iss": "https://securetoken.google.com/another-project"},
        {"aud": "another-project", "iss": "https://securetoken.google.com/another-project"},
    ],
    ids=["audience", "issuer", "both"],
)
def test_verification_token_of_another_project_is_refused(
    authenticator: Build,
    key: SigningKey,
    certificates: CertificateServer,
    claims: dict[str, str],
) -> None:
    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-known', **claims)}")


def test_verification_unsigned_token_is_refused_without_emulator(
    authenticator: Build, certificates: CertificateServer
) -> None:
    token = jwt.encode(
        {"iss": ISSUER, "aud": PROJECT, "sub": "uid-known", "exp": int(time.time()) + 60},
        key=None,
        algorithm="none",
    )

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {token}")


def test_verification_hung_certificate_endpoint_fails_fast_as_unavailable(
    authenticator: Build, key: SigningKey
) -> None:
    with SilentServer() as silent:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            authenticator(silent.url, timeout=1.0).authenticate(f"Bearer {key.sign('uid-known')}")
        elapsed = time.monotonic() - started

    assert elapsed < 5


def test_verification_closed_certificate_endpoint_is_unavailable(
    authenticator: Build, key: SigningKey
) -> None:
    with SilentServer() as closed:
        url = closed.url  # the port is free again once the server is closed

    with pytest.raises(Unavailable):
        authenticator(url, timeout=1.0).authenticate(f"Bearer {key.sign('uid-known')}")


def test_verification_certificates_are_fetched_once_for_many_tokens(
    authenticator: Build, key: SigningKey, certificates: CertificateServer
) -> None:
    signed_in = authenticator(certificates.url)

    for number in range(5):
        signed_in.authenticate(f"Bearer {key.sign('uid-known', number=number)}")

    assert certificates.requests == 1
