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
#  3. writes hs-api's accounts file when HS_ACCOUNTS_ENV lists accounts as
#     name:role:VARIABLE (space-separated), VARIABLE holding the account's
#     password: a line name:role:<sha256 hex of the password> each, into
#     HS_ACCOUNTS_FILE (default /tmp/hs-accounts), mode 0600, made anew at
#     each start. An empty or unset VARIABLE stops the container: no account
#     without a password. The password variables are then removed from the
#     program's environment (HS_MQTT_PASSWORD excepted).
#  4. started as root (compose.tls.yaml does this for hs-api, whose HTTPS key
#     is mounted readable by its owner only): copies HS_TLS_CERT_FILE and
#     HS_TLS_KEY_FILE to /tmp/hs-tls, owned by the hs user, and runs PROGRAM
#     as hs. The programs never run as root.
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

if [ -n "${HS_ACCOUNTS_ENV:-}" ]; then
  accounts=${HS_ACCOUNTS_FILE:-/tmp/hs-accounts}
  tmp=$accounts.tmp
  (umask 077 && : >"$tmp")
  unset_vars=()
  for spec in $HS_ACCOUNTS_ENV; do
    IFS=: read -r name role var rest <<<"$spec"
    if [ -z "$name" ] || [ -z "$role" ] || [ -n "$rest" ] || ! [[ ${var:-} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      echo "hs-entrypoint: HS_ACCOUNTS_ENV: '$spec' is not name:role:VARIABLE" >&2
      rm -f "$tmp"
      exit 1
    fi
    secret=${!var:-}
    if [ -z "$secret" ]; then
      echo "hs-entrypoint: account $name: $var is empty; set it (docs/DEPLOY.md, Credentials)" >&2
      rm -f "$tmp"
      exit 1
    fi
    hash=$(printf '%s' "$secret" | sha256sum)
    printf '%s:%s:%s\n' "$name" "$role" "${hash%% *}" >>"$tmp"
    [ "$var" = HS_MQTT_PASSWORD ] || unset_vars+=("$var")
  done
  mv -f "$tmp" "$accounts"
  unset secret hash "${unset_vars[@]}" HS_ACCOUNTS_ENV
  export HS_ACCOUNTS_FILE=$accounts
fi

if [ "$(id -u)" -eq 0 ]; then
  tls=/tmp/hs-tls
  rm -rf "$tls"
  if [ -n "${HS_TLS_CERT_FILE:-}${HS_TLS_KEY_FILE:-}" ]; then
    install -d -m 0700 -o hs -g hs "$tls"
    for pair in HS_TLS_CERT_FILE:cert.pem HS_TLS_KEY_FILE:key.pem; do
      var=${pair%%:*}
      src=${!var:-}
      [ -n "$src" ] || continue
      install -m 0400 -o hs -g hs "$src" "$tls/${pair#*:}"
      export "$var=$tls/${pair#*:}"
    done
  fi
  if [ -n "${HS_ACCOUNTS_FILE:-}" ] && [ -f "$HS_ACCOUNTS_FILE" ]; then
    chown hs:hs "$HS_ACCOUNTS_FILE"
  fi
  export HOME=/var/lib/hs
  exec setpriv --reuid=hs --regid=hs --init-groups -- "$@"
fi

exec "$@"
