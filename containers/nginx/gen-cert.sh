#!/bin/sh
# gen-cert.sh DIR: write a self-signed certificate DIR/server.crt and its key DIR/server.key,
# unless both are there already (a real certificate mounted there is never replaced).
#
# For a first start and for tests. The names it is valid for: localhost, 127.0.0.1, and
# the comma-separated DNS names in CERT_HOSTNAMES (e.g. CERT_HOSTNAMES=mymonit.example.org).
set -eu

dir=${1:?usage: gen-cert.sh DIR}
crt="$dir/server.crt"
key="$dir/server.key"

if [ -s "$crt" ] && [ -s "$key" ]; then
    exit 0
fi
command -v openssl >/dev/null 2>&1 || { echo "gen-cert.sh: openssl is not installed" >&2; exit 1; }
mkdir -p "$dir"

names="DNS:localhost,IP:127.0.0.1"
for host in $(echo "${CERT_HOSTNAMES:-}" | tr ',' ' '); do
    names="$names,DNS:$host"
done
common_name=$(echo "${CERT_HOSTNAMES:-localhost}" | cut -d, -f1)

# The key is made under a restrictive umask and moved into place last, so that a
# half-written pair is never taken for a finished one.
umask 077
tmp_key="$key.tmp.$$"
tmp_crt="$crt.tmp.$$"
trap 'rm -f "$tmp_key" "$tmp_crt"' EXIT
# P-256: as strong as RSA-3072 for this purpose and much cheaper per TLS handshake.
# openssl's default CA:TRUE stays: a client that takes this very certificate as its trust
# anchor (curl --cacert, Python's strict X.509 checks) needs it.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -sha256 -days 825 -subj "/CN=$common_name" \
    -addext "subjectAltName=$names" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tmp_key" -out "$tmp_crt" 2>/dev/null
chmod 644 "$tmp_crt"
mv "$tmp_key" "$key"
mv "$tmp_crt" "$crt"
echo "gen-cert.sh: wrote a self-signed certificate for $names to $crt" >&2
