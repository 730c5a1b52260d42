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

import datetime
import http.server
import json
import socket
import threading
import time
import uuid
from typing import Any, Iterator

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from my_monit.errors import Forbidden, Unavailable
from my_monit.model import Role, User
from my_monit.rest.authenticator import (
    Authenticator,
    FirebaseTokenVerifier,
    TokenCache,
    Unauthenticated,
)
from my_monit.rest.configuration import RestConfiguration

PROJECT = "mymonit-test-project"
ISSUER = f"https://securetoken.google.com/{PROJECT}"

pytestmark = pytest.mark.integration


class SigningKey:
    """An RSA key with a self-signed certificate, like one of Google's token-signing keys."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, uid: str, **overrides: Any) -> str:
        """Make an ID token for ``uid``, as Firebase would; ``overrides`` change claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": PROJECT,
            "sub": uid,
            "user_id": uid,
            "iat": now - 10,
            "auth_time": now - 10,
            "exp": now + 3600,
            "firebase": {"sign_in_provider": "password", "identities": {}},
        }
        claims.update(overrides)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


class CertificateServer:
    """Serve ``{kid: certificate}`` on loopback, as Google's certificate endpoint does."""

    def __init__(self, *keys: SigningKey) -> None:
        body = json.dumps({key.kid: key.certificate_pem for key in keys}).encode()
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            """Answer every GET with the certificates."""

            def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=3600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                """Keep the test output quiet."""

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/certs"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CertificateServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentServer:
    """Accept TCP connections on loopback and never answer: a certificate endpoint hung."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/certs"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()


class Users:
    """A stand-in for UserService.authenticate: one known uid."""

    def authenticate(self, uid: str) -> User:
        """Map the known uid to its user; Forbidden for any other."""
        if uid != "uid-known":
            raise Forbidden("sign-in", None, "no MyMONIT user for this account")
        return User("S1", "Known", "uid-known", "known@example.org", Role.SCIENTIST)


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


def authenticator(certs_url: str, timeout: float = 5.0) -> Authenticator:
    """The app's Authenticator on the production path, certificates taken from ``certs_url``."""
    configuration = RestConfiguration(
        project_id=PROJECT, certs_url=certs_url, certs_timeout=timeout
    )
    return Authenticator(
        FirebaseTokenVerifier(configuration), Users(), TokenCache(100, 60.0)
    )


def test_verification_valid_token_signs_in_its_user(
    key: SigningKey, certificates: CertificateServer
) -> None:
    user = authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-known')}")

    assert user.user_id == "S1"
    assert certificates.requests >= 1


def test_verification_valid_token_of_unknown_uid_is_forbidden(
    key: SigningKey, certificates: CertificateServer
) -> None:
    with pytest.raises(Forbidden):
        authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-stranger')}")


def test_verification_token_signed_by_another_key_is_refused(
    key: SigningKey, certificates: CertificateServer
) -> None:
    impostor = SigningKey()
    impostor.kid = key.kid  # same key id, different key: the signature does not verify

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {impostor.sign('uid-known')}")


def test_verification_token_with_altered_payload_is_refused(
    key: SigningKey, certificates: CertificateServer
) -> None:
    header, _, signature = key.sign("uid-other").split(".")
    payload = key.sign("uid-known").split(".")[1]

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {header}.{payload}.{signature}")


def test_verification_token_of_unknown_key_id_is_refused(certificates: CertificateServer) -> None:
    stranger = SigningKey()

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {stranger.sign('uid-known')}")


def test_verification_expired_token_is_refused(
    key: SigningKey, certificates: CertificateServer
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
    key: SigningKey, certificates: CertificateServer, claims: dict[str, str]
) -> None:
    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {key.sign('uid-known', **claims)}")


def test_verification_unsigned_token_is_refused_without_emulator(
    certificates: CertificateServer,
) -> None:
    token = jwt.encode(
        {"iss": ISSUER, "aud": PROJECT, "sub": "uid-known", "exp": int(time.time()) + 60},
        key=None,
        algorithm="none",
    )

    with pytest.raises(Unauthenticated):
        authenticator(certificates.url).authenticate(f"Bearer {token}")


def test_verification_hung_certificate_endpoint_fails_fast_as_unavailable(
    key: SigningKey,
) -> None:
    with SilentServer() as silent:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            authenticator(silent.url, timeout=1.0).authenticate(f"Bearer {key.sign('uid-known')}")
        elapsed = time.monotonic() - started

    assert elapsed < 5


def test_verification_closed_certificate_endpoint_is_unavailable(key: SigningKey) -> None:
    with SilentServer() as closed:
        url = closed.url  # the port is free again once the server is closed

    with pytest.raises(Unavailable):
        authenticator(url, timeout=1.0).authenticate(f"Bearer {key.sign('uid-known')}")


def test_verification_certificates_are_fetched_once_for_many_tokens(
    key: SigningKey, certificates: CertificateServer
) -> None:
    signed_in = authenticator(certificates.url)

    for number in range(5):
        signed_in.authenticate(f"Bearer {key.sign('uid-known', number=number)}")

    assert certificates.requests == 1
