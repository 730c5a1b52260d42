"""nginx in front of the app: HTTPS only, modern TLS, security headers, the shipped config."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess  # nosec B404 - nginx -t on the project's own configuration
from pathlib import Path

import pytest
import requests

from stack import NGINX_DIR, Stack, make_certificate, nginx_command  # pylint: disable=import-error
from world import Api, World, assert_problem  # pylint: disable=import-error  # beside this file

pytestmark = pytest.mark.e2e

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def test_plain_http_redirects_to_https(stack: Stack) -> None:
    response = requests.get(f"{stack.nginx.http_url}/users/me?page=2", allow_redirects=False,
                            timeout=10)

    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/users/me?page=2"


def test_plain_http_to_the_https_port_redirects_to_https(stack: Stack) -> None:
    port = stack.nginx.https_port

    response = requests.get(f"http://127.0.0.1:{port}/healthz", allow_redirects=False,
                            timeout=10)

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{port}/healthz"


def test_plain_http_never_reaches_the_app(stack: Stack, world: World) -> None:
    response = requests.get(f"{stack.nginx.http_url}/users/me", allow_redirects=False,
                            headers={"Authorization": world.admin.authorization}, timeout=10)

    assert response.status_code == 301
    assert "user_id" not in response.text


def _handshake(stack: Stack, version: ssl.TLSVersion) -> str:
    """Connect with exactly ``version``; return the version agreed on."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(stack.certificate))
    # This client would refuse the old versions itself: let it offer them.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with socket.create_connection(("127.0.0.1", stack.nginx.https_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return str(tls.version())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("name", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_are_refused_by_the_server(stack: Stack, name: str) -> None:
    with pytest.raises(ssl.SSLError) as refusal:
        _handshake(stack, getattr(ssl.TLSVersion, name))

    # The server's alert, not this client's own refusal to offer the version.
    assert refusal.value.reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL")
    assert "alert" in str(refusal.value) or "unsupported" in str(refusal.value)


@pytest.mark.parametrize("name,agreed", [("TLSv1_2", "TLSv1.2"), ("TLSv1_3", "TLSv1.3")])
def test_modern_tls_versions_are_accepted(stack: Stack, name: str, agreed: str) -> None:
    assert _handshake(stack, getattr(ssl.TLSVersion, name)) == agreed


@pytest.mark.parametrize(
    "path,who,status",
    [("/healthz", None, 200), ("/users/me", "admin", 200), ("/users/me", None, 401),
     ("/no-such-route", "admin", 404)],
)
def test_security_headers_are_on_every_answer(
    api: Api, world: World, path: str, who: str | None, status: int
) -> None:
    response = api.call("GET", path, world.authorization(who) if who else None)

    assert response.status_code == status
    for header, value in SECURITY_HEADERS.items():
        assert value in response.headers.get(header, ""), header
    framing = response.headers.get("X-Frame-Options", "") + response.headers.get(
        "Content-Security-Policy", "")
    assert "DENY" in framing or "frame-ancestors 'none'" in framing
    # Once each: nginx's and the app's would be duplicates.
    assert "," not in response.headers["X-Content-Type-Options"]
    assert response.headers.get("Server") == "nginx"
    assert response.headers.get("X-Request-ID")


def test_body_over_nginx_limit_gets_a_problem_with_security_headers(api: Api) -> None:
    response = api.call("POST", "/experiments/", data=b"{" * (3 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert_problem(response, 413, [])
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_shipped_configuration_passes_nginx_test(tmp_path: Path) -> None:
    # As in the image: nginx.conf and deployment/ as shipped, certs/ made by gen-cert.sh.
    shutil.copy(NGINX_DIR / "nginx.conf", tmp_path / "nginx.conf")
    shutil.copytree(NGINX_DIR / "deployment", tmp_path / "deployment")
    make_certificate(tmp_path / "certs")
    # The Compose service name `app` resolves only inside Compose: give this one test a
    # hosts file of its own, in a private mount namespace.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 app\n")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is missing")
    test = (
        f"mount --bind {hosts} /etc/hosts && "
        f"{nginx_command()} -t -p {tmp_path}/ -c {tmp_path}/nginx.conf "
        f"-g 'pid {tmp_path}/nginx.pid;'"
    )

    result = subprocess.run(  # nosec B603 - fixed command on test paths
        [unshare, "--mount", "sh", "-c", test], capture_output=True, text=True, check=False,
        timeout=60,
    )

    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip(f"no mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "server app:5000;" in (tmp_path / "deployment" / "upstream.conf").read_text()
