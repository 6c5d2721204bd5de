#!/bin/bash
# hs-entrypoint: starts one HyperStream-C program in a container.
#
#   hs-entrypoint PROGRAM [ARGS...]      e.g. hs-writer, hs-tool, hsctl status
#
# Before exec'ing PROGRAM it
#  1. gives a replica its own service id: "{unique}" in HS_SERVICE_ID is
#     replaced by 8 random hex digits, drawn once per container (kept in
#     /tmp/hs-service-id, so a restarted container keeps its id). Replicas made
#     with `docker compose up --scale tool=N` share their environment but each
#     needs its own id (MQTT client ids, status and acknowledgement topics).
#  2. waits for a MongoDB store (HS_STORE_URL mongodb://host:port/...) to accept
#     connections, at most HS_STORE_WAIT seconds (default 120), so that the
#     services need no compose dependency on the store (the embedded-store
#     variant has no MongoDB service at all).
# The final service id is written to /tmp/hs-service-id for hs-healthcheck.
set -euo pipefail

if [ $# -eq 0 ]; then
  set -- hs-writer
fi

id_file=/tmp/hs-service-id
if [ -n "${HS_SERVICE_ID:-}" ]; then
  case "$HS_SERVICE_ID" in
    *'{unique}'*)
      if [ ! -s "$id_file" ]; then
        suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
        printf '%s\n' "${HS_SERVICE_ID//\{unique\}/$suffix}" >"$id_file"
      fi
      HS_SERVICE_ID=$(cat "$id_file")
      export HS_SERVICE_ID
      ;;
    *)
      printf '%s\n' "$HS_SERVICE_ID" >"$id_file"
      ;;
  esac
fi

store=${HS_STORE_URL:-}
case "$store" in
  mongodb://*)
    # First host of mongodb://[user:pass@]host[:port][,host...][/db][?opts].
    hostport=${store#mongodb://}
    hostport=${hostport##*@}
    hostport=${hostport%%[/?,]*}
    host=${hostport%:*}
    port=${hostport##*:}
    if [ "$host" = "$hostport" ]; then port=27017; fi
    wait_s=${HS_STORE_WAIT:-120}
    deadline=$((SECONDS + wait_s))
    until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "hs-entrypoint: MongoDB at $host:$port did not accept connections within ${wait_s}s" >&2
        exit 2
      fi
      sleep 1
    done
    ;;
  sqlite://*)
    # The directory must exist; the writer creates the file.
    path=${store#sqlite://}
    mkdir -p "$(dirname "$path")" 2>/dev/null || true
    ;;
esac

exec "$@"
