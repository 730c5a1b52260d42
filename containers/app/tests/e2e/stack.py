"""MyMONIT's whole REST stack on loopback, for the end-to-end tests and the benchmark.

Every part is real and runs on free ports: the Firebase Auth emulator (npm firebase-tools),
a fresh MariaDB database, the app on gunicorn (``mymonit serve``), nginx with the project's
own nginx.conf and a certificate made for the run, and a TCP listener standing in for
Logstash. Run as a script, it starts the stack, makes an administrator and a scientist's
Firebase account, and runs a command with their tokens in its environment::

    python stack.py exec -- npx newman run ...   # MYMONIT_BASE_URL, MYMONIT_ADMIN_TOKEN, ...
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import socketserver
import subprocess  # nosec B404 - the stack's own programs, started without a shell
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import requests

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.model import Experiment

# Run as a script, or from the benchmark, the tests' helpers are not on sys.path yet.
if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# pylint: disable-next=wrong-import-position,import-error  # tests/support, put on the path above
from support.database import fresh_database  # noqa: E402

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[4]
NGINX_DIR = ROOT / "containers" / "nginx"
PROJECT_ID = "demo-mymonit"
# The emulator accepts any API key; the SDKs need one to build their URLs.
EMULATOR_API_KEY = "demo-key"
PASSWORD = "e2e-password"  # nosec B105 - of throw-away accounts in the local emulator


class StackError(RuntimeError):
    """A part of the stack did not start; the message ends with its log's last lines."""


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait(what: str, ready: Any, process: Process | None, seconds: float) -> None:
    """Poll ``ready()`` until it is true; fail early when ``process`` exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.exited():
            raise StackError(f"{what} exited early:\n{_tail(process.log_path)}")
        with contextlib.suppress(OSError, requests.RequestException):
            if ready():
                return
        time.sleep(0.2)
    tail = _tail(process.log_path) if process is not None else ""
    raise StackError(f"{what} not ready after {seconds:.0f} s\n{tail}")


class Process:
    """A program of the stack, in a process group of its own, logging to a file."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, cwd: Path, env: dict[str, str]
    ) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as output:
            # It outlives this block on purpose: stop() ends it. The child keeps the file.
            self._popen = subprocess.Popen(  # pylint: disable=consider-using-with  # nosec B603
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The process id (also the id of its process group)."""
        return self._popen.pid

    def exited(self) -> bool:
        """Tell whether the process has ended."""
        return self._popen.poll() is not None

    def stop(self, seconds: float = 10.0) -> None:
        """End the process and its children: SIGTERM to its group, SIGKILL after ``seconds``."""
        for sent in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sent)
            try:
                self._popen.wait(seconds)
                return
            except subprocess.TimeoutExpired:
                continue


class LogstashListener:
    """A TCP server standing in for Logstash: keeps each JSON line it receives."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self._lock = threading.Lock()
        listener = self

        class Receiver(socketserver.StreamRequestHandler):
            """Read newline-separated events until the sender closes."""

            def handle(self) -> None:
                for line in self.rfile:
                    with listener._lock:  # pylint: disable=protected-access  # its own lock
                        listener.lines.append(line.rstrip(b"\r\n"))

        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Receiver)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def events(self) -> list[dict[str, Any]]:
        """Give every JSON object received so far (lines that are not JSON are skipped)."""
        with self._lock:
            lines = list(self.lines)
        events = []
        for line in lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Account:
    """A Firebase account of the emulator, with a fresh ID token."""

    uid: str
    email: str
    token: str


class FirebaseEmulator:
    """The Firebase Auth emulator (npm firebase-tools), for project ``demo-mymonit``."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        # Hub and logging ports too: the defaults would clash with another run.
        settings = {
            "emulators": {
                "auth": {"host": "127.0.0.1", "port": self.port},
                "hub": {"host": "127.0.0.1", "port": free_port()},
                "logging": {"host": "127.0.0.1", "port": free_port()},
                "ui": {"enabled": False},
            }
        }
        (workdir / "firebase.json").write_text(json.dumps(settings, indent=2))
        firebase = ROOT / "node_modules" / ".bin" / "firebase"
        if not firebase.exists():
            raise StackError(f"{firebase} is missing: run `npm install --ignore-scripts`")
        env = {
            **os.environ,
            "CI": "true",
            "NO_UPDATE_NOTIFIER": "1",
            # The emulator writes a hub locator file per project in the temp directory.
            "TMPDIR": str(workdir),
        }
        argv = [str(firebase), "emulators:start", "--only", "auth", "--project", PROJECT_ID]
        self.process = Process("firebase", argv, workdir / "firebase.log", workdir, env)

    def wait(self, seconds: float = 60.0) -> None:
        """Wait until the emulator answers."""
        url = f"http://{self.host}/"
        _wait("Firebase Auth emulator", lambda: requests.get(url, timeout=2).ok, self.process,
              seconds)

    def create_account(self, email: str | None = None) -> Account:
        """Sign a new account up and return it with its ID token."""
        email = email or f"{uuid.uuid4().hex[:12]}@e2e.example.org"
        answer = self._post("accounts:signUp", {"email": email, "password": PASSWORD})
        return Account(answer["localId"], email, answer["idToken"])

    def sign_in(self, email: str) -> Account:
        """Sign an existing account in again, for a new ID token."""
        answer = self._post("accounts:signInWithPassword", {"email": email, "password": PASSWORD})
        return Account(answer["localId"], email, answer["idToken"])

    def update_account(self, uid: str, **changes: Any) -> None:
        """Change an account as an administrator would (``disableUser``, ``validSince``)."""
        self._post(f"projects/{PROJECT_ID}/accounts:update", {"localId": uid, **changes},
                   administrator=True)

    def delete_account(self, uid: str) -> None:
        """Delete an account at Firebase."""
        self._post(f"projects/{PROJECT_ID}/accounts:delete", {"localId": uid},
                   administrator=True)

    def _post(
        self, method: str, body: dict[str, Any], administrator: bool = False
    ) -> dict[str, Any]:
        url = f"http://{self.host}/identitytoolkit.googleapis.com/v1/{method}"
        # The emulator takes the bearer "owner" for the calls of the Admin SDK.
        headers = {"Authorization": "Bearer owner"} if administrator else {}
        response = requests.post(
            url,
            params={"key": EMULATOR_API_KEY},
            json=body if administrator else {**body, "returnSecureToken": True},
            headers=headers,
            timeout=10,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def stop(self) -> None:
        """Stop the emulator."""
        self.process.stop()


def app_environment(config: Config, port: int, emulator_host: str, logstash_port: int,
                    workers: int | None = None) -> dict[str, str]:
    """The environment of ``mymonit``: this database, the emulator, the stand-in Logstash."""
    env = {
        name: value for name, value in os.environ.items()
        if name not in ("GOOGLE_APPLICATION_CREDENTIALS", "FIREBASE_CERTS_URL")
    }
    env.update(
        DB_HOST=config.db_host,
        DB_PORT=str(config.db_port),
        DB_USER=config.db_user,
        DB_PASSWORD=config.db_password,
        DB_DATABASE=config.db_database,
        REST_HOST="127.0.0.1",
        REST_PORT=str(port),
        FIREBASE_AUTH_EMULATOR_HOST=emulator_host,
        FIREBASE_PROJECT_ID=PROJECT_ID,
        LOGSTASH_HOST="127.0.0.1",
        LOGSTASH_PORT=str(logstash_port),
        LOG_LEVEL="INFO",
    )
    if workers is not None:
        env["REST_WORKERS"] = str(workers)
    return env


def mymonit_command() -> str:
    """Path of the ``mymonit`` command installed beside this Python."""
    beside = Path(sys.executable).parent / "mymonit"
    return str(beside) if beside.exists() else (shutil.which("mymonit") or "mymonit")


class AppServer:
    """``mymonit serve``: the REST API on gunicorn."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.port = int(env["REST_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            "app", [mymonit_command(), "serve"], workdir / "app.log", workdir, env
        )

    def wait(self, seconds: float = 60.0) -> None:
        """Wait until /readyz answers 200."""
        _wait(
            "mymonit serve",
            lambda: requests.get(f"{self.url}/readyz", timeout=2).status_code == 200,
            self.process,
            seconds,
        )

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        self.process.stop()


class Nginx:
    """nginx with the project's nginx.conf under a prefix of its own, TLS on a free port."""

    def __init__(self, prefix: Path, upstream_port: int) -> None:
        self.http_port = free_port()
        self.https_port = free_port()
        self.prefix = prefix
        conf = prefix / "conf"
        (conf / "deployment").mkdir(parents=True)
        # The workers run as nobody: they need to reach their temp directories.
        prefix.chmod(0o755)
        (conf / "nginx.conf").symlink_to(NGINX_DIR / "nginx.conf")
        (conf / "deployment" / "upstream.conf").write_text(
            f"server 127.0.0.1:{upstream_port};\n"
        )
        (conf / "deployment" / "listen-http.conf").write_text(
            f"listen 127.0.0.1:{self.http_port};\n"
        )
        (conf / "deployment" / "listen-https.conf").write_text(
            f"listen 127.0.0.1:{self.https_port} ssl;\n"
        )
        make_certificate(conf / "certs")
        self.certificate = conf / "certs" / "server.crt"
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        argv = [
            nginx_command(),
            "-p", f"{prefix}/",
            "-c", str(conf / "nginx.conf"),
            "-g", f"daemon off; pid {prefix}/nginx.pid;",
        ]
        self.process = Process("nginx", argv, prefix / "nginx.log", prefix, dict(os.environ))

    def wait(self, seconds: float = 20.0) -> None:
        """Wait until nginx accepts connections on its HTTPS port."""

        def accepting() -> bool:
            with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                return True

        _wait("nginx", accepting, self.process, seconds)

    def stop(self) -> None:
        """Stop nginx (master and workers)."""
        self.process.stop()


def nginx_command() -> str:
    """Path of the nginx binary (Debian installs it in /usr/sbin)."""
    return shutil.which("nginx") or "/usr/sbin/nginx"


def make_certificate(directory: Path) -> None:
    """Make a self-signed certificate with the project's gen-cert.sh."""
    subprocess.run(  # nosec B603 B607 - the project's own script, fixed arguments
        ["sh", str(NGINX_DIR / "gen-cert.sh"), str(directory)],
        check=True,
        capture_output=True,
    )


@dataclass
class Stack:  # pylint: disable=too-many-instance-attributes  # one field per part
    """The running stack: its parts, its URLs and its database."""

    workdir: Path
    config: Config
    emulator: FirebaseEmulator
    logstash: LogstashListener
    app: AppServer
    nginx: Nginx

    @property
    def base_url(self) -> str:
        """The API's HTTPS address, through nginx."""
        return self.nginx.url

    @property
    def certificate(self) -> Path:
        """The self-signed certificate nginx serves (a client trusts it to verify TLS)."""
        return self.nginx.certificate

    def environment(self) -> dict[str, str]:
        """The environment of a ``mymonit`` command against this stack's database."""
        return app_environment(self.config, self.app.port, self.emulator.host, self.logstash.port)

    def create_admin(self, user_id: str, name: str, email: str, uid: str) -> None:
        """Create an administrator with ``mymonit users create-admin``, as a new user would."""
        argv = [mymonit_command(), "users", "create-admin", "--user-id", user_id,
                "--name", name, "--email", email, "--username", uid]
        subprocess.run(  # nosec B603 - fixed argv
            argv, env=self.environment(), check=True, capture_output=True, timeout=60
        )

    def storage(self) -> Any:
        """The app's own Storage on this stack's database, to arrange and check data."""
        return create_container(self.config).storage()


@contextlib.contextmanager
def running_stack(workers: int | None = None, config: Config | None = None) -> Iterator[Stack]:
    """Start every part (the emulator first: it is the slowest); stop them all afterwards.

    ``workers``: gunicorn's worker processes (by default, the app's default).
    """
    workdir = Path(tempfile.mkdtemp(prefix="mymonit-e2e-"))
    with contextlib.ExitStack() as cleanup:
        emulator = FirebaseEmulator(workdir / "firebase")
        cleanup.callback(emulator.stop)
        logstash = LogstashListener()
        cleanup.callback(logstash.close)
        database = cleanup.enter_context(fresh_database(config))

        env = app_environment(database, free_port(), emulator.host, logstash.port, workers)
        app = AppServer(workdir, env)
        cleanup.callback(app.stop)
        nginx = Nginx(workdir / "nginx", app.port)
        cleanup.callback(nginx.stop)

        nginx.wait()
        emulator.wait()
        app.wait()
        log.info("stack ready in %s: %s", workdir, nginx.url)
        yield Stack(workdir, database, emulator, logstash, app, nginx)
    shutil.rmtree(workdir, ignore_errors=True)


def _exec(command: Sequence[str]) -> int:
    """Run ``command`` against a running stack with an admin's and a scientist's tokens."""
    with running_stack() as stack:
        admin = stack.emulator.create_account()
        stack.create_admin("ADMIN-E2E", "E2E Administrator", admin.email, admin.uid)
        scientist = stack.emulator.create_account()
        # An experiment with measures already stored (measures arrive over AMQP, which a
        # collection cannot send): five, one a second, for the pages and the export.
        storage = stack.storage()
        measured = storage.insert_experiment(Experiment(None, "postman-measured"))
        hertz = storage.measure_type_ids()["hertz"]
        start = datetime(2022, 4, 6, 7, 0, 0, 250000, tzinfo=timezone.utc)
        storage.insert_measures([
            (measured.experiment_id, hertz, start + timedelta(seconds=i), 100.0 + i)
            for i in range(5)
        ])
        env = {
            **os.environ,
            "MYMONIT_BASE_URL": stack.base_url,
            "MYMONIT_CA_FILE": str(stack.certificate),
            "MYMONIT_ADMIN_TOKEN": admin.token,
            "MYMONIT_SCIENTIST_TOKEN": scientist.token,
            "MYMONIT_SCIENTIST_UID": scientist.uid,
            "MYMONIT_SCIENTIST_EMAIL": scientist.email,
            "MYMONIT_MEASURED_EXPERIMENT_ID": str(measured.experiment_id),
        }
        completed = subprocess.run(command, env=env, check=False)  # nosec B603 - the caller's
        if completed.returncode != 0:
            log.error("app log, last lines:\n%s", _tail(stack.app.process.log_path))
        return completed.returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Start the stack and run a command against it (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("exec", help="run a command against a running stack")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- command and its arguments")
    args = parser.parse_args(argv)
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        parser.error("no command given")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return _exec(command)


if __name__ == "__main__":
    sys.exit(main())
