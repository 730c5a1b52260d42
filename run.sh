#!/usr/bin/env bash
# Start MyMONIT with one command.
#
# Where a Docker engine answers, it builds and starts the whole stack with Docker Compose
# (app, nginx, MariaDB, RabbitMQ, Elasticsearch, Logstash, Kibana, Filebeat) and waits
# until it is healthy. Where none does, it says so and runs the app natively instead:
# MariaDB and RabbitMQ on this machine are installed and started when the environment
# names localhost (the default), the schema is brought up to date, and `mymonit run`
# serves the REST API on REST_PORT and consumes measures.
#
#   ./run.sh                 start (native: in the foreground, Ctrl-C stops it)
#   ./run.sh --background    native only: start in the background, return once ready
#   ./run.sh --stop          native only: stop what --background started
#   ./run.sh --native        run natively even where a Docker engine answers
#
# Settings come from the environment first, then from .env (MYMONIT_ENV_FILE), which is
# made from .env.example on the first start, with a random value for every password.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$ROOT/scripts/services.sh"

ENV_FILE=${MYMONIT_ENV_FILE:-$ROOT/.env}
STATE_DIR=${MYMONIT_STATE_DIR:-${TMPDIR:-/tmp}/mymonit-$(id -u)}
PID_FILE=$STATE_DIR/mymonit.pid
LOG_FILE=$STATE_DIR/mymonit.log

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

# --- .env -------------------------------------------------------------------------------

# ensure_env_file: create .env from .env.example when missing, and give every password
# that is empty or absent a random value (hex: safe in URLs, JSON and shell).
ensure_env_file() {
    if [ ! -f "$ENV_FILE" ]; then
        say "creating $ENV_FILE from .env.example (random passwords)"
        (umask 077 && cp "$ROOT/.env.example" "$ENV_FILE")
    fi
    local key
    for key in $(grep -oE '^[A-Z0-9_]+_PASSWORD=' "$ROOT/.env.example" | tr -d '='); do
        if grep -qE "^$key=.+" "$ENV_FILE"; then
            continue
        fi
        local secret
        secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
        if grep -qE "^$key=" "$ENV_FILE"; then
            sed -i "s/^$key=.*/$key=$secret/" "$ENV_FILE"
        else
            printf '%s=%s\n' "$key" "$secret" >>"$ENV_FILE"
        fi
    done
}

# load_env_file: export the settings of .env that the environment does not set already
# (an empty value in .env means "use the default").
load_env_file() {
    local line key value
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        value=${value%\"}; value=${value#\"}; value=${value%\'}; value=${value#\'}
        [ -n "$value" ] || continue
        [ -n "${!key+set}" ] || export "$key=$value"
    done <"$ENV_FILE"
}

# --- Docker Compose -----------------------------------------------------------------------

docker_answers() { command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; }

compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose --project-directory "$ROOT" --env-file "$ENV_FILE" "$@"
    elif command -v docker-compose >/dev/null 2>&1; then
        docker-compose --project-directory "$ROOT" --env-file "$ENV_FILE" "$@"
    else
        die "a Docker engine answers, but neither 'docker compose' nor 'docker-compose' is installed"
    fi
}

# wait_healthy SERVICE...: wait (10 minutes at most: Elasticsearch is slow on first start)
# until every service's container reports healthy.
wait_healthy() {
    local service id status
    for service in "$@"; do
        say "waiting for $service to be healthy"
        for _ in $(seq 1 300); do
            id=$(compose ps -q "$service" 2>/dev/null | head -n 1)
            status=
            if [ -n "$id" ]; then
                status=$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || true)
            fi
            [ "$status" = healthy ] && break
            sleep 2
        done
        [ "$status" = healthy ] || { compose logs --tail 50 "$service" >&2; die "$service is not healthy"; }
    done
}

run_compose() {
    say "a Docker engine answers: building and starting the stack with Docker Compose"
    ensure_env_file
    compose up -d --build
    wait_healthy mariadb rabbitmq app nginx kibana
    load_env_file
    cat <<EOF

MyMONIT is running (docker compose ps; docker compose logs -f app; docker compose down):
  REST API      https://localhost:${HTTPS_PORT:-443}/   (API docs at /docs; self-signed certificate)
  AMQP          amqp://localhost:${AMQP_PORT:-5672}/     (exchange mymonit, one user per adapter, see .env)
  Kibana        http://localhost:${KIBANA_PORT:-5601}/  (user elastic, password ELASTIC_PASSWORD in .env)
  First admin   docker compose exec app mymonit users create-admin --user-id ID --name NAME --email EMAIL --username FIREBASE_UID
EOF
}

# --- natively ----------------------------------------------------------------------------

# host_of URL: the host name of a RABBIT_URL (a bare host, or amqp[s]://[user@]host[:port]/...).
host_of() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    case $rest in
        \[*\]*) rest=${rest%%]*}; rest=${rest#[} ;;
        *) rest=${rest%%:*} ;;
    esac
    printf '%s' "$rest"
}

is_local() { case $1 in localhost | 127.0.0.1 | ::1 | "") return 0 ;; *) return 1 ;; esac; }

# grant_pattern NAME: a database name as a GRANT pattern ('_' and '%' are wildcards there).
grant_pattern() { printf '%s' "$1" | sed 's/[_%]/\\&/g'; }

# ensure_rabbit_user USER PASSWORD: a broker user of the app's own on the default vhost,
# with the rights of containers/rabbitmq/definitions.json: declare its exchanges and queues,
# bind them (a bind needs write on the queue), consume the measures queue, and publish only
# to the dead-letter exchange <exchange>.dead (never to the default exchange).
ensure_rabbit_user() {
    local user=$1 password=$2
    local exchange=${RABBIT_EXCHANGE:-mymonit} queue=${RABBIT_QUEUE:-measures}
    exchange=${exchange//./\\.}
    queue=${queue//./\\.}
    if as_root rabbitmqctl -q list_users | awk '{print $1}' | grep -qxF "$user"; then
        as_root rabbitmqctl -q change_password "$user" "$password" >/dev/null
    else
        as_root rabbitmqctl -q add_user "$user" "$password" >/dev/null
    fi
    as_root rabbitmqctl -q set_permissions -p / "$user" \
        "^($exchange|$exchange\\.dead|$queue|$queue\\.dead)\$" \
        "^($exchange\\.dead|$queue|$queue\\.dead)\$" \
        "^($exchange|$exchange\\.dead|$queue)\$" >/dev/null
}

# prepare_servers: the settings of .env, and MariaDB and RabbitMQ when they are local,
# each with the app's own user (run-infra.sh sources this file for it).
prepare_servers() {
    ensure_env_file
    load_env_file
    : "${DB_HOST:=localhost}" "${DB_USER:=root}" "${DB_DATABASE:=my_monit}"
    : "${RABBIT_URL:=localhost}" "${RABBIT_USER:=guest}" "${REST_PORT:=5000}" "${HEALTH_PORT:=8081}"
    export DB_HOST DB_USER DB_DATABASE RABBIT_URL RABBIT_USER REST_PORT HEALTH_PORT

    if is_local "$DB_HOST"; then
        ensure_mariadb
        if [ "$DB_USER" != root ]; then
            say "database user $DB_USER for $DB_DATABASE"
            ensure_db_user "$DB_USER" "${DB_PASSWORD:?DB_PASSWORD is empty}" "$(grant_pattern "$DB_DATABASE")"
        fi
    fi
    if is_local "$(host_of "$RABBIT_URL")"; then
        ensure_rabbitmq
        if [ "$RABBIT_USER" != guest ]; then
            say "RabbitMQ user $RABBIT_USER"
            ensure_rabbit_user "$RABBIT_USER" "${RABBIT_PASSWORD:?RABBIT_PASSWORD is empty}"
        fi
    fi
}

prepare_native() {
    prepare_servers
    ensure_venv
    export PATH="$VENV/bin:$PATH"
    say "bringing the database schema up to date"
    mymonit db upgrade
}

print_native_urls() {
    cat <<EOF

MyMONIT runs natively (REST and consumer in one process):
  REST API      http://localhost:$REST_PORT/   (API docs at /docs)
  Consumer      http://localhost:$HEALTH_PORT/readyz and /metrics
  AMQP          $RABBIT_URL   (exchange ${RABBIT_EXCHANGE:-mymonit})
  First admin   $VENV/bin/mymonit users create-admin --user-id ID --name NAME --email EMAIL --username FIREBASE_UID
EOF
}

ready() { curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$REST_PORT/readyz"; }

run_native_background() {
    mkdir -p "$STATE_DIR"
    if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        die "MyMONIT already runs in the background (pid $(cat "$PID_FILE")); ./run.sh --stop first"
    fi
    say "starting mymonit run in the background (log: $LOG_FILE)"
    setsid mymonit run >"$LOG_FILE" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$PID_FILE"
    for _ in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || { tail -n 40 "$LOG_FILE" >&2; die "mymonit run exited during start-up"; }
        ready && break
        sleep 0.5
    done
    ready || { tail -n 40 "$LOG_FILE" >&2; die "/readyz did not answer 200 within 60 s"; }
    print_native_urls
    echo "  Stop with     ./run.sh --stop   (pid $pid)"
}

stop_native() {
    [ -f "$PID_FILE" ] || { say "nothing runs in the background"; return 0; }
    local pid
    pid=$(cat "$PID_FILE")
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping mymonit (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && die "mymonit (pid $pid) did not stop within 30 s"
    fi
    rm -f "$PID_FILE"
}

main() {
    local mode=auto background=
    for argument in "$@"; do
        case $argument in
            --background) background=1 ;;
            --native) mode=native ;;
            --stop) stop_native; return ;;
            -h | --help) usage; return ;;
            *) usage >&2; die "unknown argument: $argument" ;;
        esac
    done
    if [ "$mode" = auto ] && docker_answers; then
        [ -z "$background" ] || die "--background is for the native run (Compose runs in the background already)"
        run_compose
        return
    fi
    if [ "$mode" = auto ]; then
        say "no Docker engine answers ('docker info' failed): running MyMONIT natively"
    fi
    ensure_packages curl
    prepare_native
    if [ -n "$background" ]; then
        run_native_background
    else
        print_native_urls
        exec mymonit run
    fi
}

# Sourced (by run-infra.sh), it only defines its functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
