"""Measure the REST API through nginx with 16 concurrent keep-alive clients, and print figures.

Run from the repository's root with MariaDB up, nginx, wrk and the npm tools installed
(see README, "Benchmark"):

    python containers/app/benchmarks/rest_benchmark.py [--seconds 15] [--workers N]

It starts the whole stack as the end-to-end tests do (Firebase Auth emulator, a fresh
database, ``mymonit serve`` on gunicorn, nginx with the project's nginx.conf and TLS), makes
an administrator and a scientist, 50 experiments and 5,000 measures, then runs wrk
(16 connections, 2 threads) against:

(a) GET /experiments/ as the administrator;
(b) GET /measures/{experiment_id}?limit=1000 as the associated scientist: a 1000-row page;
(c) GET /healthz, the floor: the same nginx, TLS, gunicorn, Flask and audit event (console
    and Logstash), without a token, a user lookup or a query. (a) cannot go faster than (c)
    on this machine, and (a)/(c) tells what sign-in and the list itself cost.

For each: requests per second, errors (answers other than 2xx, and socket errors), and
the 50th and 99th percentile latency. The goals of issue 3 for (a): at least 1,500
requests per second, p99 at most 50 ms, no errors.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess  # nosec B404 - runs wrk, a fixed local program
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

E2E = Path(__file__).resolve().parents[1] / "tests" / "e2e"
sys.path.insert(0, str(E2E))

# pylint: disable=wrong-import-position,import-error  # the stack of the e2e tests
from stack import Stack, running_stack  # noqa: E402
from my_monit.model import Experiment, Role, User  # noqa: E402

log = logging.getLogger(__name__)

CONNECTIONS = 16
THREADS = 2
MEASURES = 5000
EXPERIMENTS = 50
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class Figures:
    """What wrk measured for one URL."""

    requests_per_second: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def errors(self) -> int:
        """Answers other than 2xx and 3xx, plus connect, read, write and timeout errors."""
        return self.non_2xx + self.socket_errors


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Figures:
    """Read wrk's summary (run with --latency)."""
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    rate = float(found.group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)\s*$", output, re.MULTILINE))
    return Figures(
        requests_per_second=rate,
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        p50_ms=_milliseconds(percentiles["50"]),
        p99_ms=_milliseconds(percentiles["99"]),
    )


def run_wrk(url: str, token: str, seconds: int) -> Figures:
    """Load ``url`` with wrk: 16 keep-alive connections for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    argv = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
            "--timeout", "5s", "-H", f"Authorization: Bearer {token}", url]
    completed = subprocess.run(  # nosec B603 - fixed argv
        argv, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    log.debug("wrk output:\n%s", completed.stdout)
    return parse_wrk(completed.stdout)


def _arrange(stack: Stack) -> tuple[str, str, int]:
    """Make an admin, a scientist, experiments and measures; give tokens and an id."""
    storage = stack.storage()
    admin = stack.emulator.create_account()
    stack.create_admin("BENCH-ADMIN", "Bench Admin", admin.email, admin.uid)
    scientist = stack.emulator.create_account()
    storage.insert_user(
        User("BENCH-SCI", "Bench Scientist", scientist.uid, scientist.email, Role.SCIENTIST)
    )
    experiments = [
        storage.insert_experiment(Experiment(None, f"bench-experiment-{i:02d}"))
        for i in range(EXPERIMENTS)
    ]
    measured = experiments[0].experiment_id
    storage.insert_association(measured, "BENCH-SCI")
    hertz = storage.measure_type_ids()["hertz"]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    storage.insert_measures(
        [(measured, hertz, start + timedelta(milliseconds=i), float(i)) for i in range(MEASURES)]
    )
    return admin.token, scientist.token, measured


def _check_page(stack: Stack, url: str, token: str) -> None:
    """Fail unless ``url`` answers a page of 1000 measures with a next link."""
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"},
                          verify=str(stack.certificate), timeout=30)
    rows = answer.json() if answer.ok else []
    if len(rows) != 1000 or 'rel="next"' not in answer.headers.get("Link", ""):
        raise SystemExit(f"the measures page is not a full one: HTTP {answer.status_code}, "
                         f"{len(rows)} rows")


def _line(label: str, figures: Figures) -> str:
    return (
        f"{label:<44} {figures.requests_per_second:>9.1f} {figures.requests:>9d} "
        f"{figures.errors:>7d} {figures.p50_ms:>8.2f} {figures.p99_ms:>8.2f}"
    )


def main() -> int:
    """Start the stack, run both loads, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=int, default=15, help="length of each run")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: the app's REST_WORKERS default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    with running_stack(workers=args.workers) as stack:
        admin_token, scientist_token, measured = _arrange(stack)
        experiments_url = f"{stack.base_url}/experiments/"
        measures_url = f"{stack.base_url}/measures/{measured}?limit=1000"
        # What wrk will count as a success really is a full page: 1000 rows and a next link.
        _check_page(stack, measures_url, scientist_token)
        # A short warm-up: token verification cached, connection pools filled.
        run_wrk(experiments_url, admin_token, 2)
        run_wrk(measures_url, scientist_token, 2)
        experiments = run_wrk(experiments_url, admin_token, args.seconds)
        measures = run_wrk(measures_url, scientist_token, args.seconds)
        floor = run_wrk(f"{stack.base_url}/healthz", admin_token, args.seconds)

    print(f"REST through nginx (TLS), {CONNECTIONS} keep-alive connections, "
          f"{args.seconds} s per run")
    print(f"{'':<44} {'req/s':>9} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    print(_line("GET /experiments/ (admin, 50 experiments)", experiments))
    print(_line("GET /measures/{id}?limit=1000 (scientist)", measures))
    print(_line("GET /healthz (floor: no sign-in, no query)", floor))
    ratio = experiments.requests_per_second / floor.requests_per_second
    print(f"GET /experiments/ runs at {ratio:.0%} of the floor's rate")
    goals = (experiments.requests_per_second >= 1500 and experiments.p99_ms <= 50
             and experiments.errors == 0)
    print(f"goals for GET /experiments/ (>= 1500 req/s, p99 <= 50 ms, no errors): "
          f"{'met' if goals else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
