#!/usr/bin/env bash
# Entrypoint of the rabbitmq service in docker-compose.yml (wrapping the image's own):
#  1. a CA and a server certificate for the AMQPS listener (5671) in /etc/rabbitmq/tls,
#     made on the first start unless certificates are mounted there (ca.crt, server.crt,
#     server.key); clients trust ca.crt (docker compose cp rabbitmq:/etc/rabbitmq/tls/ca.crt .);
#  2. the definitions (containers/rabbitmq/definitions.json) rendered with the users and
#     password hashes from the environment, imported by the node at every boot, so .env
#     stays the one place where the passwords are kept.
set -euo pipefail

tls=/etc/rabbitmq/tls
if [ ! -s "$tls/server.crt" ] || [ ! -s "$tls/server.key" ] || [ ! -s "$tls/ca.crt" ]; then
    echo "entrypoint.sh: making a CA and a server certificate in $tls" >&2
    mkdir -p "$tls"
    work=$(mktemp -d)
    names="DNS:rabbitmq,DNS:localhost,IP:127.0.0.1"
    for host in $(echo "${CERT_HOSTNAMES:-}" | tr ',' ' '); do names="$names,DNS:$host"; done
    (
        umask 077
        openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 \
            -days 3650 -subj "/CN=MyMONIT RabbitMQ CA" -keyout "$work/ca.key" -out "$work/ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 \
            -subj "/CN=rabbitmq" -keyout "$work/server.key" -out "$work/server.csr"
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
            "$names" >"$work/server.ext"
        openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
            -CAcreateserial -days 825 -sha256 -extfile "$work/server.ext" -out "$work/server.crt"
    ) 2>/dev/null
    # The CA's key is not kept: a new server certificate means a new CA (delete the volume).
    install -m 0644 "$work/ca.crt" "$tls/ca.crt"
    install -m 0644 "$work/server.crt" "$tls/server.crt"
    install -m 0600 -o rabbitmq -g rabbitmq "$work/server.key" "$tls/server.key"
    rm -rf "$work"
fi

/opt/mymonit/render-definitions.sh /opt/mymonit/definitions.json /var/lib/rabbitmq/mymonit-definitions.json
chown rabbitmq:rabbitmq /var/lib/rabbitmq/mymonit-definitions.json

# Logs go where rabbitmq.conf says (console and /var/log/rabbitmq), whatever the image sets.
unset RABBITMQ_LOGS
exec docker-entrypoint.sh "$@"
