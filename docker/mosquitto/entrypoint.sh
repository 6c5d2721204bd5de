#!/bin/bash
# hs-broker-entrypoint: writes the password file and the listeners, then runs
# mosquitto in the foreground (it drops to the mosquitto user itself).
#
# Accounts, user name <- environment variable with its password:
#   device <- HS_DEVICE_PASSWORD      reader <- HS_READER_PASSWORD
#   hs-admin <- HS_ADMIN_PASSWORD     hs-writer <- HS_WRITER_PASSWORD
#   hs-ingest <- HS_INGEST_PASSWORD   hs-scheduler <- HS_SCHEDULER_PASSWORD
#   hs-tool <- HS_TOOL_PASSWORD       hs-api <- HS_API_PASSWORD
# Every one must be set. HS_BROKER_PASSWORD_FILE may name a further password
# file (mounted; lines made by mosquitto_passwd) whose users are added, e.g.
# more devices; they need lines in the ACL too.
# Listeners: HS_BROKER_PORT (1883), HS_BROKER_BIND (all addresses),
# HS_BROKER_TLS_PORT (empty: no TLS), HS_BROKER_TLS_BIND (all addresses),
# HS_BROKER_TLS_DIR (/etc/hs-mosquitto/tls: ca.crt, server.crt, server.key).
set -euo pipefail

run=/run/hs-mosquitto
umask 077
rm -rf "$run"
mkdir -p "$run/conf.d"

passwd=$run/passwd
: >"$passwd"
missing=()
for pair in device:HS_DEVICE_PASSWORD reader:HS_READER_PASSWORD hs-admin:HS_ADMIN_PASSWORD \
  hs-writer:HS_WRITER_PASSWORD hs-ingest:HS_INGEST_PASSWORD \
  hs-scheduler:HS_SCHEDULER_PASSWORD hs-tool:HS_TOOL_PASSWORD hs-api:HS_API_PASSWORD; do
  user=${pair%%:*}
  var=${pair#*:}
  pw=${!var:-}
  if [ -z "$pw" ]; then
    missing+=("$var")
    continue
  fi
  mosquitto_passwd -b "$passwd" "$user" "$pw"
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hs-broker: set ${missing[*]} (docs/DEPLOY.md, Credentials)" >&2
  exit 1
fi
# The healthcheck's own account, with a password drawn now.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$run/health.pass"
mosquitto_passwd -b "$passwd" hs-health "$(cat "$run/health.pass")"
if [ -n "${HS_BROKER_PASSWORD_FILE:-}" ]; then
  if [ ! -r "$HS_BROKER_PASSWORD_FILE" ]; then
    echo "hs-broker: cannot read HS_BROKER_PASSWORD_FILE $HS_BROKER_PASSWORD_FILE" >&2
    exit 1
  fi
  grep -v -e '^#' -e '^$' "$HS_BROKER_PASSWORD_FILE" >>"$passwd"
fi

port=${HS_BROKER_PORT:-1883}
{
  echo "listener $port ${HS_BROKER_BIND:-}"
  if [ -n "${HS_BROKER_TLS_PORT:-}" ]; then
    tls=${HS_BROKER_TLS_DIR:-/etc/hs-mosquitto/tls}
    for f in ca.crt server.crt server.key; do
      if [ ! -r "$tls/$f" ]; then
        echo "hs-broker: TLS needs $tls/$f (mounted; docs/DEPLOY.md, TLS)" >&2
        exit 1
      fi
      # Copied so that mosquitto can read them after dropping to its user,
      # whatever the owner and mode of the mounted files.
      install -m 0400 -o mosquitto "$tls/$f" "$run/$f"
    done
    echo "listener $HS_BROKER_TLS_PORT ${HS_BROKER_TLS_BIND:-}"
    echo "cafile $run/ca.crt"
    echo "certfile $run/server.crt"
    echo "keyfile $run/server.key"
  fi
} >"$run/conf.d/listeners.conf"
printf '%s\n' "$port" >"$run/port"

chown -R mosquitto "$run"
chmod 0700 "$run"
exec mosquitto -c /etc/hs-mosquitto/mosquitto.conf
