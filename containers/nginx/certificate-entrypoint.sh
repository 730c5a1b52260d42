#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts: make a self-signed certificate
# in /etc/nginx/certs unless one is mounted there (gen-cert.sh never replaces a pair).
set -eu
if [ -s /etc/nginx/certs/server.crt ] && [ -s /etc/nginx/certs/server.key ]; then
    echo "$0: using the certificate mounted at /etc/nginx/certs" >&2
else
    /usr/local/bin/gen-cert.sh /etc/nginx/certs
fi
