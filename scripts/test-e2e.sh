#!/usr/bin/env bash
# The end-to-end stage: the REST API through nginx with TLS, on gunicorn, signed in with
# real ID tokens of the Firebase Auth emulator, on a fresh MariaDB database.
#   1. pytest -m e2e containers/app/tests/e2e (every route by every kind of caller, bad
#      input, TLS, headers, audit events);
#   2. Newman runs postman/collection.json against a stack of its own.
# Installs what it needs: nginx and openssl (Debian), firebase-tools and newman (npm, into
# the gitignored node_modules/). Runs alone or from run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_packages nginx openssl util-linux
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' \
    || die "firebase-tools needs Node.js 20 or later (found $(node --version))"
if [ ! -x node_modules/.bin/firebase ] || [ ! -x node_modules/.bin/newman ]; then
    say "installing firebase-tools and newman (npm)"
    # --ignore-scripts: neither needs an install script, and none should run here.
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# run-tests.sh has brought the environment up to date already; alone, make one if missing.
[ -x "$VENV/bin/mymonit" ] || ensure_venv
ensure_mariadb
export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306}
export DB_USER=${DB_USER:-mymonit_test} DB_PASSWORD=${DB_PASSWORD:-mymonit-test}
ensure_db_user "$DB_USER" "$DB_PASSWORD" 'my\_monit\_test%'
export PATH="$VENV/bin:$PATH"

say "end-to-end tests (pytest -m e2e)"
python -m pytest -q -p no:cacheprovider -m e2e containers/app/tests/e2e

say "Postman collection (newman, through nginx)"
# The stack's own certificate is trusted explicitly, rather than switching checks off.
# shellcheck disable=SC2016  # the inner bash expands them, from the variables stack.py sets
python containers/app/tests/e2e/stack.py exec -- bash -c '
    exec node_modules/.bin/newman run postman/collection.json \
        --environment postman/environment.json \
        --env-var "baseUrl=$MYMONIT_BASE_URL" \
        --env-var "adminToken=$MYMONIT_ADMIN_TOKEN" \
        --env-var "scientistToken=$MYMONIT_SCIENTIST_TOKEN" \
        --env-var "scientistUid=$MYMONIT_SCIENTIST_UID" \
        --env-var "measuredExperimentId=$MYMONIT_MEASURED_EXPERIMENT_ID" \
        --ssl-extra-ca-certs "$MYMONIT_CA_FILE" \
        --color off --reporters cli'
