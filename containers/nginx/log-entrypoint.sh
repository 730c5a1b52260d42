#!/bin/bash
# Entrypoint of the nginx image: nginx.conf logs to stdout (access) and stderr (errors);
# copy both into /var/log/nginx as well, where Filebeat reads them (the nginx-logs volume,
# containers/filebeat/filebeat.yml), while `docker compose logs nginx` still shows them.
# The files start afresh with each container start, which bounds their size.
set -euo pipefail
mkdir -p /var/log/nginx
exec > >(tee /var/log/nginx/access.log) 2> >(tee /var/log/nginx/error.log >&2)
# The image's own entrypoint runs /docker-entrypoint.d (the certificate) and then nginx.
exec /docker-entrypoint.sh "$@"
