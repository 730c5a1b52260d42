"""RestConfiguration: how the REST API is served and how it checks ID tokens."""

from __future__ import annotations

from dataclasses import dataclass

from my_monit.config import ConfigurationError

# Emulator projects of the Firebase Local Emulator Suite: they never reach Google's servers.
DEMO_PROJECT_PREFIX = "demo-"
MIB = 1024 * 1024


@dataclass(frozen=True)
class RestConfiguration:  # pylint: disable=too-many-instance-attributes  # server, tokens
    """Where to listen, how many workers, which Firebase project signs the ID tokens."""

    host: str = "0.0.0.0"  # nosec B104 - containers publish the port through nginx only
    port: int = 5000
    workers: int = 2
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
        if not self.project_id and not self.credentials_file:
            raise ConfigurationError(
                "FIREBASE_PROJECT_ID (or GOOGLE_APPLICATION_CREDENTIALS) must be set: "
                "ID tokens are checked against the project id"
            )
