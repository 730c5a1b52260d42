#!/bin/sh
# Wait for Kibana, then import MyMONIT's data views, audit search and dashboard into it.
#
# Meant for a one-shot Compose service at stack start (any image with sh and curl, such as
# curlimages/curl), and safe to run again: existing objects are overwritten.
#
#   KIBANA_URL           where Kibana answers (default http://kibana:5601)
#   KIBANA_USERNAME      with KIBANA_PASSWORD, basic credentials for a secured Kibana
#   KIBANA_WAIT_SECONDS  how long to wait for Kibana to be available (default 300)
#   KIBANA_POLL_SECONDS  how long to sleep between two looks (default 5)
#   SAVED_OBJECTS        the NDJSON file to import (default: saved_objects.ndjson beside this script)
set -eu

KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
KIBANA_WAIT_SECONDS=${KIBANA_WAIT_SECONDS:-300}
KIBANA_POLL_SECONDS=${KIBANA_POLL_SECONDS:-5}
SAVED_OBJECTS=${SAVED_OBJECTS:-$(dirname "$0")/saved_objects.ndjson}

say() { echo "load-saved-objects: $*" >&2; }

# Credentials go to curl on its standard input, not on its command line (ps shows those).
kibana() {
    if [ -n "${KIBANA_USERNAME:-}" ]; then
        printf 'user = "%s:%s"\n' "$KIBANA_USERNAME" "${KIBANA_PASSWORD:-}" |
            curl --config - --silent --show-error --max-time 30 "$@"
    else
        curl --silent --show-error --max-time 30 "$@"
    fi
}

[ -r "$SAVED_OBJECTS" ] || { say "cannot read $SAVED_OBJECTS"; exit 1; }

# Kibana answers /api/status with 503 while it starts; "available" (8.x) or "green" (7.x) when ready.
waited=0
until kibana "$KIBANA_URL/api/status" 2>/dev/null | grep -Eq '"level":"available"|"state":"green"'; do
    if [ "$waited" -ge "$KIBANA_WAIT_SECONDS" ]; then
        say "Kibana at $KIBANA_URL is not available after $KIBANA_WAIT_SECONDS s"
        exit 1
    fi
    sleep "$KIBANA_POLL_SECONDS"
    waited=$((waited + KIBANA_POLL_SECONDS))
done

answer=$(kibana --request POST "$KIBANA_URL/api/saved_objects/_import?overwrite=true" \
    --header "kbn-xsrf: true" --form "file=@$SAVED_OBJECTS")
case "$answer" in
    *'"success":true'*)
        say "imported $(grep -c . "$SAVED_OBJECTS") saved objects into $KIBANA_URL" ;;
    *)
        say "import failed: $answer"
        exit 1 ;;
esac
