"""Token-signing keys and a certificate endpoint on loopback, as Firebase and Google have.

``SigningKey`` makes an RSA key with a self-signed certificate and signs ID tokens with it
(RS256, Firebase's claims); ``CertificateServer`` serves ``{kid: certificate}`` over HTTP
on loopback, as Google serves its token-signing certificates. With FIREBASE_CERTS_URL set
to the server's ``url``, firebase-admin verifies these tokens on its production path.

    from support.token_signing import CertificateServer, SigningKey

    key = SigningKey()
    with CertificateServer(key) as server:
        ...  # FIREBASE_PROJECT_ID=PROJECT FIREBASE_CERTS_URL=server.url
        token = key.sign("a-firebase-uid")
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PROJECT = "mymonit-test-project"
ISSUER = f"https://securetoken.google.com/{PROJECT}"


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
