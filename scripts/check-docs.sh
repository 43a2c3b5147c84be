#!/usr/bin/env bash
# Checks that the docs name everything the code can answer or be told:
#   - every configuration key (from `wsgate --help`) is in docs/configuration.md and in the
#     shipped config/wsgate.json;
#   - every error code the REST API and the upgrade can answer is in docs/openapi.yaml's
#     error-code enum;
#   - every error code of the client protocol is in docs/protocol.md's error table;
#   - every wsgate_* metric is in docs/metrics.md.
#   scripts/check-docs.sh [path-to-wsgate-binary]      (ctest -L lint runs it)
# The codes are read from the sources by the patterns the code uses for them (error(status,
# "code", ...), refuse(status, "code", ...), publish_error{"code", ...}, and the client_error
# names): a new way of answering an error must be added here too.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-build-test/wsgate}"
missing=0

need() {  # need <what> <item> <file...>: the item must appear in one of the files
  local what=$1 item=$2
  shift 2
  if ! grep -qF -- "$item" "$@"; then
    echo "docs: $what '$item' is not in $*" >&2
    missing=$((missing + 1))
  fi
}

# Configuration keys.
keys=$("$binary" --help | sed -n 's/^  --\([a-z_.]*\) VALUE.*/\1/p')
[ -n "$keys" ] || { echo "docs: no keys in '$binary --help'" >&2; exit 1; }
for key in $keys; do
  need "configuration key" "\`$key\`" docs/configuration.md
  need "configuration key" "\"${key##*.}\"" config/wsgate.json
done

# Error codes answered over HTTP (REST and refused upgrades): in openapi.yaml's enum.
http_codes=$(grep -rhoE '(error|refuse|error_response)\([^"]*[0-9]{3}, "[a-z_]+"|publish_error\{"[a-z_]+"|fail\("[a-z_]+"' \
               src/api src/server src/session/ws_handshake.cpp src/tls |
             grep -oE '"[a-z_]+"$' | tr -d '"' | sort -u)
[ -n "$http_codes" ] || { echo "docs: found no HTTP error codes in src/" >&2; exit 1; }
for code in $http_codes; do
  need "HTTP error code" "- $code" docs/openapi.yaml
done

# Error codes of the client protocol (protocol::client_error): in protocol.md's table.
client_codes=$(sed -n '/^const char\* to_string(client_error/,/^}/p' src/protocol/client_message.cpp |
               grep -oE 'case client_error::[a-z_]+: return "[a-z_]+"' | grep -oE '"[a-z_]+"' |
               tr -d '"' | sort -u)
[ -n "$client_codes" ] || { echo "docs: found no client error codes" >&2; exit 1; }
errors_table=$(mktemp)
trap 'rm -f "$errors_table"' EXIT
sed -n '/^## Error codes/,/^## /p' docs/protocol.md >"$errors_table"
for code in $client_codes; do
  need "client error code" "| \`$code\` |" "$errors_table"
done

# Metrics.
metrics=$(grep -ohE '"wsgate_[a-z_]+"' src/metrics/metrics.cpp | tr -d '"' | sort -u)
for m in $metrics; do
  need "metric" "| \`$m\` |" docs/metrics.md
done

if [ "$missing" -gt 0 ]; then
  echo "docs: $missing item(s) missing" >&2
  exit 1
fi
echo "docs: every configuration key ($(echo "$keys" | wc -w)), HTTP error code" \
     "($(echo "$http_codes" | wc -w)), client error code ($(echo "$client_codes" | wc -w)) and" \
     "metric ($(echo "$metrics" | wc -w)) is documented"
