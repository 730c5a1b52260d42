"""Sign-in: a Firebase ID token from the Authorization header, mapped to a MyMONIT user."""

from __future__ import annotations

import collections
import hashlib
import logging
import re
import threading
import time
import uuid
from typing import Any, Callable, Protocol

import firebase_admin
from firebase_admin import auth, credentials, exceptions
from google.auth.credentials import AnonymousCredentials

from my_monit.config import ConfigurationError
from my_monit.errors import MyMonitError, Unavailable
from my_monit.model import User
from my_monit.rest.configuration import RestConfiguration
from my_monit.services import UserService

log = logging.getLogger(__name__)

# A compact JWT: three base64url parts. Anything else is refused before the SDK sees it.
_BEARER = re.compile(
    r"Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)", re.ASCII | re.IGNORECASE
)
MAX_TOKEN_LENGTH = 8192

# Errors of a token itself (or of its account at Firebase): the caller must sign in again.
_REFUSED_TOKEN_ERRORS = (
    auth.InvalidIdTokenError,  # also expired, revoked, badly signed, for another project
    auth.UserDisabledError,
    auth.UserNotFoundError,
    ValueError,  # a token the SDK cannot even decode
)


class Unauthenticated(MyMonitError):
    """The request carries no usable ID token (HTTP 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__("sign-in", None, reason)


class TokenVerifier(Protocol):  # pylint: disable=too-few-public-methods  # a one-call role
    """Check an ID token and say whose it is."""

    def verify(self, token: str) -> tuple[str, float]:
        """Return the token's uid and expiry (unix seconds); raise Unauthenticated."""


class _VerificationOnly(credentials.Base):
    """A credential for an SDK that only verifies tokens: no Google API call is made."""

    def get_credential(self) -> AnonymousCredentials:
        return AnonymousCredentials()


class FirebaseTokenVerifier:  # pylint: disable=too-few-public-methods  # one call, one SDK app
    """Verify ID tokens with the Firebase Admin SDK, one SDK app per verifier."""

    def __init__(self, configuration: RestConfiguration) -> None:
        configuration.check()
        options: dict[str, Any] = {"httpTimeout": configuration.certs_timeout}
        if configuration.project_id:
            options["projectId"] = configuration.project_id
        credential = _credential(configuration.credentials_file)
        # A name of its own, so that tests and tools may hold several verifiers.
        self._app = firebase_admin.initialize_app(
            credential, options, name=f"mymonit-{uuid.uuid4().hex}"
        )
        # Revocation needs a lookup at Firebase, which needs a service account (or the
        # emulator). It runs on each cache miss of the Authenticator, so a revoked token
        # is refused within its cache time (at most a minute), not on every request.
        self._check_revoked = configuration.emulated or configuration.credentials_file is not None
        if configuration.certs_url:
            _use_certificates_from(self._app, configuration.certs_url)

    def verify(self, token: str) -> tuple[str, float]:
        """Return the token's uid and expiry; raise Unauthenticated or Unavailable."""
        try:
            claims = auth.verify_id_token(token, app=self._app, check_revoked=self._check_revoked)
        except _REFUSED_TOKEN_ERRORS as error:
            raise Unauthenticated(f"invalid ID token ({type(error).__name__})") from error
        except exceptions.FirebaseError as error:
            # Certificates or the revocation lookup out of reach: the token may be valid.
            raise Unavailable("token verification", None, type(error).__name__) from error
        return claims["uid"], float(claims["exp"])


def _credential(credentials_file: str | None) -> credentials.Base:
    if not credentials_file:
        return _VerificationOnly()
    try:
        return credentials.Certificate(credentials_file)
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            "GOOGLE_APPLICATION_CREDENTIALS: not a readable service-account file"
        ) from error


def _use_certificates_from(app: firebase_admin.App, url: str) -> None:
    """Fetch the token-signing certificates from ``url`` (a test server) instead of Google."""
    # The SDK has no option for it; its verifier keeps the address in ``cert_url``.
    client = auth._get_client(app)  # pylint: disable=protected-access  # no public option
    verifier = getattr(getattr(client, "_token_verifier", None), "id_token_verifier", None)
    if not hasattr(verifier, "cert_url"):
        raise ConfigurationError("FIREBASE_CERTS_URL is not supported by this firebase-admin")
    verifier.cert_url = url  # type: ignore[union-attr]


class TokenCache:
    """Remember verified tokens briefly: a bounded LRU keyed by the token's SHA-256."""

    def __init__(
        self, size: int, seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._size = size
        self._seconds = seconds
        self._clock = clock
        self._entries: collections.OrderedDict[bytes, tuple[str, float]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, key: bytes) -> str | None:
        """Return the uid of a token verified a moment ago, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: bytes, uid: str, expires_at: float) -> None:
        """Remember a verified token until it expires, and for ``seconds`` at most."""
        until = min(expires_at, self._clock() + self._seconds)
        with self._lock:
            self._entries[key] = (uid, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class Authenticator:
    """Turn an ``Authorization: Bearer <ID token>`` header into the user who sent it."""

    def __init__(
        self, verifier: TokenVerifier, user_service: UserService, cache: TokenCache
    ) -> None:
        self._verifier = verifier
        self._users = user_service
        self._cache = cache

    def authenticate(self, authorization: str | None) -> User:
        """Return the signed-in user; Unauthenticated (401) or Forbidden (403) otherwise.

        The uid is cached with its token, the user is not: an erasure or a change of role
        takes effect on the next request.
        """
        token = _bearer_token(authorization)
        key = hashlib.sha256(token.encode("ascii")).digest()
        uid = self._cache.get(key)
        if uid is None:
            uid, expires_at = self._verifier.verify(token)
            self._cache.put(key, uid, expires_at)
        return self._users.authenticate(uid)


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("no Authorization header")
    if len(authorization) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("the Authorization header is too long")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise Unauthenticated("the Authorization header is no Bearer ID token")
    return match.group(1)
