#!/usr/bin/env bash
# One-shot `elasticsearch-setup` of docker-compose.yml, run once Elasticsearch is healthy:
#  - sets the password of kibana_system, the built-in user Kibana runs as;
#  - creates the role and user logstash_writer, which may write MyMONIT's indices
#    (INDEX_PATTERNS, default mymonit-*) and nothing else.
# Safe to run again: it only sets what is already there. Passwords come from the
# environment (.env), never from a file of the repository.
set -euo pipefail

url=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
patterns=${INDEX_PATTERNS:-mymonit-*}
: "${ELASTIC_PASSWORD:?}" "${KIBANA_SYSTEM_PASSWORD:?}" "${LOGSTASH_WRITER_PASSWORD:?}"

# elastic METHOD PATH BODY: one API call as the elastic superuser. The credentials go
# through a curl config file and the body through stdin: neither shows in the process list.
umask 077
credentials=$(mktemp)
trap 'rm -f "$credentials"' EXIT
printf 'user = "elastic:%s"\n' "$ELASTIC_PASSWORD" >"$credentials"
elastic() {
    printf '%s' "$3" | curl -fsS -K "$credentials" -X "$1" "$url$2" \
        -H 'Content-Type: application/json' --data-binary @- -o /dev/null
}

index_names=$(printf '%s' "$patterns" | sed 's/[^,][^,]*/"&"/g')

echo "setup.sh: kibana_system's password" >&2
elastic POST /_security/user/kibana_system/_password "{\"password\":\"$KIBANA_SYSTEM_PASSWORD\"}"

echo "setup.sh: role and user logstash_writer for $patterns" >&2
elastic PUT /_security/role/logstash_writer "{
  \"cluster\": [\"monitor\", \"manage_index_templates\", \"manage_ilm\"],
  \"indices\": [{\"names\": [$index_names],
                 \"privileges\": [\"create_index\", \"create_doc\", \"write\", \"manage\", \"auto_configure\"]}]
}"
elastic PUT /_security/user/logstash_writer "{
  \"password\": \"$LOGSTASH_WRITER_PASSWORD\",
  \"roles\": [\"logstash_writer\"],
  \"full_name\": \"MyMONIT's Logstash\"
}"
echo "setup.sh: done" >&2
