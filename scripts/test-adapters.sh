#!/usr/bin/env bash
# Stage of run-tests.sh: the adapters package (issue 4). It installs what it needs
# (Mosquitto from Debian; the adapters with their dev tools into the virtual environment),
# starts MariaDB, RabbitMQ and Mosquitto when they are down, then runs pylint and bandit
# on adapters/mymonit_adapters and adapters/tests under coverage: unit tests, and each
# adapter publishing into the real RabbitMQ with the real consumer storing into MariaDB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/services.sh"

mosquitto_answers() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }

ensure_mosquitto() {
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || ensure_packages mosquitto
    if ! mosquitto_answers; then
        say "starting Mosquitto on 127.0.0.1:1883"
        local conf
        conf=$(mktemp /tmp/mymonit-mosquitto.XXXXXX.conf)
        printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n' >"$conf"
        PATH="/usr/sbin:$PATH" mosquitto -d -c "$conf"
        wait_for mosquitto_answers || die "Mosquitto did not start"
    fi
}

ensure_venv
ensure_mariadb
ensure_rabbitmq
ensure_mosquitto

# The tests' database user, as run-tests.sh makes it (this stage may also run alone).
export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306}
export DB_USER=${DB_USER:-mymonit_test} DB_PASSWORD=${DB_PASSWORD:-mymonit-test}
ensure_db_user "$DB_USER" "$DB_PASSWORD" 'my\_monit\_test%'
export RABBIT_URL=${RABBIT_URL:-127.0.0.1} RABBIT_USER=${RABBIT_USER:-guest}
export RABBIT_PASSWORD=${RABBIT_PASSWORD:-guest}
export PATH="$VENV/bin:$PATH"

cd "$ROOT/adapters"
say "adapters: pylint and bandit"
pylint --rcfile=pyproject.toml --fail-under=9.5 mymonit_adapters
bandit -q -r mymonit_adapters

say "adapters: unit and end-to-end tests, with coverage"
coverage run -m pytest -q -p no:cacheprovider tests
coverage report --fail-under=90
