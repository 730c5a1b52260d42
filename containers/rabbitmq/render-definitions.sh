#!/usr/bin/env bash
# render-definitions.sh TEMPLATE OUTPUT: write RabbitMQ definitions with the users'
# names and password hashes taken from the environment, so that no password (nor hash)
# is ever committed.
#
# In TEMPLATE, "@VALUE:NAME@" becomes the value of the variable NAME (a user name: letters,
# digits, '.', '_' or '-'), and "@HASH:NAME@" the salted SHA-256 hash of the password in
# NAME, as RabbitMQ stores it (rabbit_password_hashing_sha256: base64 of a 4-byte salt
# followed by SHA-256(salt + password)). A variable unset or empty is an error: no user is
# ever created without a password.
set -euo pipefail

template=${1:?usage: render-definitions.sh TEMPLATE OUTPUT}
output=${2:?usage: render-definitions.sh TEMPLATE OUTPUT}

fail() { echo "render-definitions.sh: $*" >&2; exit 1; }

hash_password() {
    local salt
    salt=$(mktemp)
    openssl rand 4 >"$salt"
    # The password goes through a pipe from a shell builtin: it never appears in argv.
    { cat "$salt"; { cat "$salt"; printf '%s' "$1"; } | openssl dgst -sha256 -binary; } \
        | openssl base64 -A
    rm -f "$salt"
}

rendered=$(cat "$template")
while IFS= read -r placeholder; do
    kind=${placeholder#@}
    kind=${kind%%:*}
    name=${placeholder#*:}
    name=${name%@}
    value=${!name:-}
    [ -n "$value" ] || fail "$name is unset or empty (see .env.example)"
    if [ "$kind" = VALUE ]; then
        [[ $value =~ ^[A-Za-z0-9._-]+$ ]] || fail "$name may hold only letters, digits, '.', '_' and '-'"
        replacement=$value
    else
        replacement=$(hash_password "$value")
    fi
    rendered=${rendered//"$placeholder"/"$replacement"}
done < <(grep -oE '@(VALUE|HASH):[A-Z0-9_]+@' "$template" | sort -u)

umask 077
printf '%s\n' "$rendered" >"$output.tmp"
mv "$output.tmp" "$output"
