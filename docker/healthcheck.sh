#!/bin/bash
# hs-healthcheck: exit 0 when the service of this container is ready, that is
# when its retained status <prefix>/status/<service id> says "online" (a
# service publishes it once it has subscribed and can work; its last will and
# a clean stop replace it by "offline").
#
# It asks the broker with mosquitto_sub, using the container's own settings:
# HS_BROKER_URL (tcp://, mqtt://, ssl://, mqtts://), HS_MQTT_USERNAME,
# HS_MQTT_PASSWORD, HS_MQTT_CA_FILE, HS_PREFIX and the service id that
# hs-entrypoint recorded. HS_HEALTH_TIMEOUT bounds the wait (seconds, default 5).
set -euo pipefail

id=$(cat /tmp/hs-service-id 2>/dev/null || true)
id=${id:-${HS_SERVICE_ID:-}}
if [ -z "$id" ]; then
  echo "hs-healthcheck: no service id (HS_SERVICE_ID)" >&2
  exit 1
fi
url=${HS_BROKER_URL:-tcp://127.0.0.1:1883}
scheme=${url%%://*}
rest=${url#*://}
rest=${rest%%/*}
host=${rest%:*}
port=${rest##*:}
args=(-t "${HS_PREFIX:-hs}/status/$id" -C 1 -W "${HS_HEALTH_TIMEOUT:-5}")
case "$scheme" in
  ssl | mqtts)
    [ "$host" = "$rest" ] && port=8883
    if [ -n "${HS_MQTT_CA_FILE:-}" ]; then
      args+=(--cafile "$HS_MQTT_CA_FILE")
    else
      args+=(--capath /etc/ssl/certs)
    fi
    ;;
  *) [ "$host" = "$rest" ] && port=1883 ;;
esac
args+=(-h "$host" -p "$port")
if [ -n "${HS_MQTT_USERNAME:-}" ]; then
  args+=(-u "$HS_MQTT_USERNAME" -P "${HS_MQTT_PASSWORD:-}")
fi
status=$(mosquitto_sub "${args[@]}" 2>&1) || {
  echo "hs-healthcheck: no status for $id: $status" >&2
  exit 1
}
case "$status" in
  *'"state":"online"'*) exit 0 ;;
esac
echo "hs-healthcheck: $id is not online: $status" >&2
exit 1
