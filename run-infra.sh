#!/usr/bin/env bash
# Start only MariaDB and RabbitMQ, for developing the app on this machine: as Compose
# services (with their ports published on localhost) where a Docker engine answers,
# otherwise natively (installed and started when missing, with the app's own database and
# broker users of .env, as ./run.sh --native makes them). .env (MYMONIT_ENV_FILE) is made
# from .env.example on the first start. Then, from the repository:
#   set -a; source .env; set +a; .venv/bin/mymonit db upgrade; .venv/bin/mymonit run
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# run.sh, sourced, only defines its functions (and sources scripts/services.sh).
source "$ROOT/run.sh"
cd "$ROOT"

if docker_answers; then
    say "a Docker engine answers: starting mariadb and rabbitmq with Docker Compose"
    ensure_env_file
    # The debug override publishes 3306 and 15672 on localhost, which development needs.
    compose -f docker-compose.yml -f docker-compose.debug.yml up -d --wait mariadb rabbitmq
    say "MariaDB on localhost:3306 (user DB_USER of .env), RabbitMQ on localhost:5672 (RABBIT_USER), management on http://localhost:15672"
else
    say "no Docker engine answers ('docker info' failed): starting MariaDB and RabbitMQ natively"
    prepare_servers
    say "MariaDB on localhost:3306 (user $DB_USER), RabbitMQ on localhost:5672 (user $RABBIT_USER)"
fi
ensure_venv
say "then, from the repository:"
printf '  set -a; source %q; set +a; %q db upgrade; %q run\n' \
    "$ENV_FILE" "$VENV/bin/mymonit" "$VENV/bin/mymonit"
