#!/bin/bash
# hs-broker-healthcheck: exit 0 when the broker answers on its plain listener
# (loopback) to the healthcheck account the entrypoint made.
set -euo pipefail
run=/run/hs-mosquitto
exec mosquitto_sub -h 127.0.0.1 -p "$(cat "$run/port")" -u hs-health -P "$(cat "$run/health.pass")" \
  -t '$SYS/broker/uptime' -C 1 -W "${HS_HEALTH_TIMEOUT:-5}" >/dev/null
