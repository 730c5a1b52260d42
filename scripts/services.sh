# shellcheck shell=bash  # sourced only, so it has no shebang to name its shell
# Shell functions shared by run.sh, run-infra.sh and run-tests.sh (sourced, not run).
# They install what is missing (Debian packages, the virtual environment, npm tools)
# and start MariaDB and RabbitMQ when they are down.

MYMONIT_ROOT=${MYMONIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VENV=${VENV:-$MYMONIT_ROOT/.venv}

say() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages PKG...: install the Debian packages that are not installed yet.
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
        || { as_root apt-get update -q >/dev/null \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
}

# wait_for CMD...: retry a command for up to 60 s.
wait_for() {
    for _ in $(seq 1 120); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtual environment in $VENV"
        python3 -m venv "$VENV" || { ensure_packages python3-venv && python3 -m venv "$VENV"; }
    fi
    local stamp="$VENV/.mymonit-installed"
    local sources=("$MYMONIT_ROOT/containers/app/pyproject.toml" "$MYMONIT_ROOT/adapters/pyproject.toml")
    local stale=0 source
    [ -f "$stamp" ] || stale=1
    for source in "${sources[@]}"; do
        [ -f "$source" ] && [ "$source" -nt "$stamp" ] && stale=1
    done
    if [ "$stale" -eq 1 ]; then
        say "installing the Python packages"
        "$VENV/bin/pip" install -q --upgrade pip
        "$VENV/bin/pip" install -q -e "$MYMONIT_ROOT/containers/app[dev]"
        if [ -f "$MYMONIT_ROOT/adapters/pyproject.toml" ]; then
            "$VENV/bin/pip" install -q -e "$MYMONIT_ROOT/adapters[dev]"
        fi
        touch "$stamp"
    fi
}

mariadb_answers() { mariadb-admin --protocol=socket -uroot ping >/dev/null 2>&1 \
    || mariadb-admin -h127.0.0.1 -uroot ping >/dev/null 2>&1; }

ensure_mariadb() {
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] \
        || ensure_packages mariadb-server mariadb-client
    if ! mariadb_answers; then
        say "starting MariaDB"
        as_root mkdir -p /run/mysqld
        as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
        as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
        wait_for mariadb_answers || die "MariaDB did not start"
    fi
}

# mariadb_root SQL: run SQL as the server's root (unix socket first, as a fresh
# Debian MariaDB allows only that; then TCP with an empty password).
mariadb_root() {
    as_root mariadb --protocol=socket -uroot -e "$1" 2>/dev/null \
        || mariadb -h127.0.0.1 -uroot -e "$1"
}

# ensure_db_user USER PASSWORD PATTERN: a database user of the app's own, allowed
# everything on the databases matching PATTERN (a GRANT pattern such as my\_monit%).
ensure_db_user() {
    local user=$1 password=$2 pattern=$3
    mariadb_root "CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
        CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$password';
        ALTER USER '$user'@'localhost' IDENTIFIED BY '$password';
        ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$password';
        GRANT ALL PRIVILEGES ON \`$pattern\`.* TO '$user'@'localhost';
        GRANT ALL PRIVILEGES ON \`$pattern\`.* TO '$user'@'127.0.0.1';"
}

rabbitmq_answers() { as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

ensure_rabbitmq() {
    command -v rabbitmq-server >/dev/null 2>&1 || ensure_packages rabbitmq-server
    if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
        say "starting RabbitMQ"
        as_root rabbitmq-server -detached >/dev/null 2>&1 || true
        wait_for rabbitmq_answers || die "RabbitMQ did not start"
        wait_for bash -c '(exec 3<>/dev/tcp/127.0.0.1/5672)' || die "RabbitMQ does not listen on 5672"
    fi
}
