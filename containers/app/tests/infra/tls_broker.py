"""A private RabbitMQ node with an AMQPS listener, made for one test session.

It runs the project's own containers/rabbitmq/rabbitmq.conf (its paths and ports moved into
a temporary directory) and the definitions that render-definitions.sh makes from random
passwords, under its own node name, ports and directories: the shared broker of this
machine is never touched. A CA and a server certificate for localhost are made here.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .support import free_port, required_file

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
ADAPTERS = ("stdin", "file", "mqtt")
APP_USER = "mymonit-app"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class TlsBroker:  # pylint: disable=too-many-instance-attributes  # a node's coordinates
    """Where the private node listens and who may sign in."""

    node: str
    amqp_port: int
    amqps_port: int
    ca_file: Path
    foreign_ca_file: Path
    app_password: str = field(repr=False)
    adapter_passwords: dict[str, str] = field(repr=False)
    admin_password: str = field(repr=False)

    @property
    def amqps_url(self) -> str:
        """Give the AMQPS URL of the node, with the host name its certificate names."""
        return f"amqps://localhost:{self.amqps_port}/%2F"


def _openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> tuple[Path, Path]:
    """Make a CA, a server certificate for localhost signed by it, and an unrelated CA."""
    directory.mkdir(parents=True)
    for name in ("ca", "foreign-ca"):
        _openssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-days", "1",
                 "-subj", f"/CN=MyMONIT test {name}", "-keyout", str(directory / f"{name}.key"),
                 "-out", str(directory / f"{name}.crt"))
    _openssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-subj", "/CN=localhost",
             "-keyout", str(directory / "server.key"), "-out", str(directory / "server.csr"))
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    _openssl("x509", "-req", "-in", str(directory / "server.csr"),
             "-CA", str(directory / "ca.crt"), "-CAkey", str(directory / "ca.key"),
             "-CAcreateserial", "-days", "1", "-extfile", str(directory / "server.ext"),
             "-out", str(directory / "server.crt"))
    return directory / "ca.crt", directory / "foreign-ca.crt"


def project_configuration(work: Path, amqp_port: int, amqps_port: int) -> str:
    """Give containers/rabbitmq/rabbitmq.conf with its paths and ports moved for this node."""
    text = required_file("containers/rabbitmq/rabbitmq.conf").read_text(encoding="utf-8")
    moves = {
        "load_definitions = /var/lib/rabbitmq/mymonit-definitions.json":
            f"load_definitions = {work}/definitions.json",
        "listeners.tcp.default = 5672": f"listeners.tcp.default = 127.0.0.1:{amqp_port}",
        "listeners.ssl.default = 5671": f"listeners.ssl.default = 127.0.0.1:{amqps_port}",
        "/etc/rabbitmq/tls/": f"{work}/tls/",
        "log.dir = /var/log/rabbitmq": f"log.dir = {work}/log",
    }
    for old, new in moves.items():
        assert old in text, f"containers/rabbitmq/rabbitmq.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def _environment(work: Path, node: str, amqp_port: int) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
    environment.update(
        # A private HOME: the node's Erlang cookie is its own.
        HOME=str(work),
        RABBITMQ_NODENAME=node,
        RABBITMQ_NODE_PORT=str(amqp_port),
        RABBITMQ_DIST_PORT=str(free_port()),
        RABBITMQ_MNESIA_BASE=str(work / "mnesia"),
        RABBITMQ_LOG_BASE=str(work / "log"),
        RABBITMQ_CONFIG_FILE=str(work / "rabbitmq.conf"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(work / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(work / "enabled_plugins"),
        RABBITMQ_CONF_ENV_FILE=str(work / "rabbitmq-env.conf"),
        RABBITMQ_PID_FILE=str(work / "node.pid"),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        ERL_CRASH_DUMP=str(work / "erl_crash.dump"),
    )
    return environment


class TlsBrokerProcess:
    """Start and stop the private node."""

    def __init__(self, work: Path) -> None:
        assert SERVER.is_file() and CTL.is_file(), (
            "RabbitMQ's scripts are missing (scripts/test-infra.sh installs rabbitmq-server)"
        )
        self.work = work
        self.node = f"mymonit-tls-{secrets.token_hex(4)}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.environment: dict[str, str] = {}
        self.broker: TlsBroker | None = None

    def start(self) -> TlsBroker:
        """Make certificates, definitions and configuration; boot the node; wait for it."""
        ca_file, foreign_ca_file = make_certificates(self.work / "tls")
        passwords = {
            "RABBIT_USER": APP_USER,
            "RABBIT_PASSWORD": secrets.token_hex(16),
            "RABBIT_ADMIN_USER": ADMIN_USER,
            "RABBIT_ADMIN_PASSWORD": secrets.token_hex(16),
            **{f"RABBIT_ADAPTER_{a.upper()}_PASSWORD": secrets.token_hex(16) for a in ADAPTERS},
        }
        subprocess.run(
            ["bash", str(required_file("containers/rabbitmq/render-definitions.sh")),
             str(required_file("containers/rabbitmq/definitions.json")),
             str(self.work / "definitions.json")],
            env={**os.environ, **passwords}, check=True, capture_output=True, timeout=60,
        )
        amqp_port, amqps_port = free_port(), free_port()
        (self.work / "rabbitmq.conf").write_text(
            project_configuration(self.work, amqp_port, amqps_port), encoding="utf-8"
        )
        (self.work / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        (self.work / "rabbitmq-env.conf").write_text("", encoding="utf-8")
        (self.work / "log").mkdir()
        self.environment = _environment(self.work, self.node, amqp_port)
        with open(self.work / "server.out", "wb") as output:
            # pylint: disable-next=consider-using-with  # stopped in stop()
            self.process = subprocess.Popen(
                [str(SERVER)], env=self.environment, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=self.work,
            )
        self._await_listener(amqps_port)
        started = self.ctl("await_startup", "--timeout", "60", timeout=90)
        assert started.returncode == 0, self._diagnosis(started.stdout + started.stderr)
        self.broker = TlsBroker(
            node=self.node, amqp_port=amqp_port, amqps_port=amqps_port, ca_file=ca_file,
            foreign_ca_file=foreign_ca_file, app_password=passwords["RABBIT_PASSWORD"],
            adapter_passwords={
                a: passwords[f"RABBIT_ADAPTER_{a.upper()}_PASSWORD"] for a in ADAPTERS
            },
            admin_password=passwords["RABBIT_ADMIN_PASSWORD"],
        )
        return self.broker

    def _await_listener(self, port: int, seconds: float = 120) -> None:
        """Wait until the node accepts TLS connections; fail at once if it died."""
        assert self.process is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self._diagnosis("the node exited")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.5)
        raise AssertionError(self._diagnosis(f"nothing listens on {port} after {seconds} s"))

    def ctl(self, *arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run rabbitmqctl against the private node."""
        return subprocess.run(
            [str(CTL), "-n", self.node, *arguments], env=self.environment,
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def stop(self) -> None:
        """Stop the node and wait for its process; kill its own process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.ctl("stop", str(self.work / "node.pid"), timeout=90)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def _diagnosis(self, text: str) -> str:
        server_out = (self.work / "server.out").read_text(errors="replace")[-3000:]
        return f"the private RabbitMQ node did not start:\n{text}\n{server_out}"
