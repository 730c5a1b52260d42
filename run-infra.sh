#!/usr/bin/env bash
# Start only MariaDB and RabbitMQ, for developing the app on this machine: as Compose
# services (with their ports published on localhost) where a Docker engine answers,
# otherwise natively (installed and started when missing). Then, from the repository:
#   set -a; source .env; set +a; .venv/bin/mymonit db upgrade; .venv/bin/mymonit run
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
source "$ROOT/scripts/services.sh"
cd "$ROOT"

ENV_FILE=${MYMONIT_ENV_FILE:-$ROOT/.env}

if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    say "a Docker engine answers: starting mariadb and rabbitmq with Docker Compose"
    [ -f "$ENV_FILE" ] || die "no $ENV_FILE: run ./run.sh once, or copy .env.example and set its passwords"
    compose=(docker compose)
    docker compose version >/dev/null 2>&1 || compose=(docker-compose)
    # The debug override publishes 3306 and 15672 on localhost, which development needs.
    "${compose[@]}" --env-file "$ENV_FILE" -f docker-compose.yml -f docker-compose.debug.yml \
        up -d --wait mariadb rabbitmq
    say "MariaDB on localhost:3306 (user DB_USER of .env), RabbitMQ on localhost:5672 (RABBIT_USER), management on http://localhost:15672"
else
    say "no Docker engine answers ('docker info' failed): starting MariaDB and RabbitMQ natively"
    ensure_mariadb
    ensure_rabbitmq
    say "MariaDB on localhost:3306 (root over the unix socket), RabbitMQ on localhost:5672 (guest/guest)"
    say "./run.sh --native creates the app's own database user from .env and starts the app"
fi
