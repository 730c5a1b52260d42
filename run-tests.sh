#!/usr/bin/env bash
# Run every test and check of MyMONIT. On a fresh Debian machine it installs what it
# needs (virtual environment, packages, npm tools) and starts MariaDB and RabbitMQ.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/services.sh

ensure_venv
ensure_mariadb
ensure_rabbitmq

# The tests' own database user; each test run makes (and drops) databases my_monit_test_*.
export DB_HOST=127.0.0.1 DB_PORT=3306 DB_USER=mymonit_test DB_PASSWORD=mymonit-test
ensure_db_user "$DB_USER" "$DB_PASSWORD" 'my\_monit\_test%'
export RABBIT_URL=127.0.0.1 RABBIT_USER=guest RABBIT_PASSWORD=guest
export PATH="$VENV/bin:$PATH"

say "unit and integration tests, with coverage (containers/app/run-checks.sh)"
containers/app/run-checks.sh

# Further stages, in order: each scripts/test-*.sh installs what it needs and runs its tests.
for stage in scripts/test-*.sh; do
    [ -e "$stage" ] || continue
    say "stage ${stage#scripts/}"
    bash "$stage"
done
say "all tests passed"
