"""RestConfiguration: how the REST API is served and how it checks ID tokens."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from my_monit.config import ConfigurationError

# Emulator projects of the Firebase Local Emulator Suite: they never reach Google's servers.
DEMO_PROJECT_PREFIX = "demo-"
MIB = 1024 * 1024


@dataclass(frozen=True)
class RestConfiguration:  # pylint: disable=too-many-instance-attributes  # server, tokens
    """Where to listen, how many workers, which Firebase project signs the ID tokens."""

    # All interfaces: containers publish the port through nginx only (bandit B104).
    host: str = "0.0.0.0"  # nosec B104
    port: int = 5000
    workers: int = 3
    threads: int = 8
    project_id: str | None = None
    credentials_file: str | None = None
    emulator_host: str | None = None
    certs_url: str | None = None
    # Google's certificate endpoint answers in milliseconds; waiting longer only piles
    # requests up behind a network fault.
    certs_timeout: float = 5.0
    token_cache_size: int = 10000
    token_cache_seconds: float = 60.0
    max_body_bytes: int = MIB
    log_level: str = "INFO"

    @property
    def emulated(self) -> bool:
        """Tell whether ID tokens come from the Firebase Auth emulator (and are unsigned)."""
        return self.emulator_host is not None

    def check(self) -> None:
        """Raise ConfigurationError unless ID tokens can be verified safely with these settings.

        With the emulator the SDK accepts unsigned tokens, so it is allowed only for the
        emulator's offline ``demo-`` projects, which no real user can sign in to.
        """
        if self.emulated and not (self.project_id or "").startswith(DEMO_PROJECT_PREFIX):
            raise ConfigurationError(
                "FIREBASE_AUTH_EMULATOR_HOST is set: FIREBASE_PROJECT_ID must start with "
                f"'{DEMO_PROJECT_PREFIX}' (the emulator accepts unsigned tokens)"
            )
        if self.certs_url and not _is_loopback_url(self.certs_url):
            raise ConfigurationError(
                "FIREBASE_CERTS_URL must be an http(s) URL on the loopback: it replaces "
                "Google's token-signing certificates, for tests only"
            )
        if not self.project_id and not self.credentials_file:
            raise ConfigurationError(
                "FIREBASE_PROJECT_ID (or GOOGLE_APPLICATION_CREDENTIALS) must be set: "
                "ID tokens are checked against the project id"
            )

    def warnings(self) -> list[str]:
        """Say which settings weaken sign-in, for the log at start-up."""
        found = []
        if self.emulated:
            found.append(
                f"FIREBASE_AUTH_EMULATOR_HOST is set ({self.emulator_host}): ID tokens are "
                "NOT verified; for development and tests only"
            )
        if self.certs_url:
            found.append(
                "FIREBASE_CERTS_URL is set: ID tokens are checked against certificates "
                "served on this machine, not Google's; for tests only"
            )
        if not self.emulated and not self.credentials_file:
            found.append(
                "GOOGLE_APPLICATION_CREDENTIALS is not set: revoked ID tokens are accepted "
                "until they expire (revocation needs a service account)"
            )
        return found


def _is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
