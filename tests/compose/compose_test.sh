#!/usr/bin/env bash
# The compose deployment tested for real: builds the images (docker/Dockerfile,
# docker/mosquitto/Dockerfile) on a Debian base made here by debootstrap, starts
# compose.yaml + compose.embedded.yaml with rootful Podman and docker-compose v1
# (through Podman's Docker-compatible socket), and checks what users do:
#   - every service becomes healthy, the workflows directory is loaded,
#   - a second tool replica joins (--scale tool=2) with its own id,
#   - a device publishes raw readings with the device account, the online
#     workflow computes, a reader gets the results with the reader account,
#   - the store holds every reading the device sent,
#   - unauthorised actions are refused (a device publishing results or
#     subscribing, a reader publishing raw data, a wrong password),
#   - the HTTP API (hs-api) over real HTTP: nothing without an account, the
#     reader lists every service online and reads what the device wrote as
#     line protocol, exactly; each role is refused what it may not do; the
#     dashboard's page is served when the image has it,
#   - with compose.tls.yaml the same path works over TLS, and the API over
#     HTTPS,
#   - the stack stops cleanly: exit status 0 and status "offline"/"stopped",
#   - compose.yaml's MongoDB variant runs the same path against a MongoDB
#     emulator (tests/support/mongo_emulator.py) started after the services,
#     which wait for it.
# It prints the time of each step.
#
# Needs root, podman, runc, debootstrap, docker-compose, mosquitto-clients,
# curl and openssl (HS_DEPS_EXTRA=compose bash scripts/deps.sh installs them); exits 77
# (skipped) without them.
#
# Environment:
#   HS_COMPOSE_DIR      work directory (default /tmp/hs-compose): Podman's
#                       storage and configuration, the cached base image
#                       tarball, logs. Kept between runs; a run reuses the
#                       images and build cache found there.
#   HS_COMPOSE_FRESH=1  start from an empty work directory (the base image
#                       tarball is kept).
#   HS_COMPOSE_TLS=0    skip the TLS part.
#   HS_COMPOSE_MONGO=0  skip the MongoDB part (compose.yaml itself, with the
#                       wire-level emulator of tests/support in place of the
#                       mongo:7 image, which cannot be had here).
#   HS_COMPOSE_KEEP=1   leave the stack as it is at the end, also after a
#                       failure (remove it with tests/compose/compose_test.sh
#                       --down; Podman's API service stops with the test).
#   HS_COMPOSE_MIRROR   Debian mirror for debootstrap (default: the host's).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=${HS_COMPOSE_DIR:-/tmp/hs-compose}
PROJECT=hs-compose-test
SUITE=bookworm
BASE_IMAGE=localhost/debian:$SUITE
PY=/usr/bin/python3
T_START=$(date +%s.%N)
TIMINGS=()

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  dump_logs
  exit 1
}
skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# Runs a step, prints and records how long it took.
step() {
  local name=$1
  shift
  local s e
  s=$(date +%s.%N)
  log "== $name"
  "$@"
  e=$(date +%s.%N)
  local d
  d=$($PY -c "print('%.1f' % ($e - $s))")
  TIMINGS+=("$(printf '%-40s %7ss' "$name" "$d")")
  log "   $name: ${d}s"
}

print_timings() {
  local total
  total=$($PY -c "print('%.1f' % ($(date +%s.%N) - $T_START))")
  echo "---- timings (work directory $W)"
  printf '%s\n' "${TIMINGS[@]}"
  printf '%-40s %7ss\n' "total" "$total"
}

# ---- prerequisites ----------------------------------------------------------

check_prereqs() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (rootful Podman)"
  local missing=()
  for c in podman runc debootstrap docker-compose mosquitto_pub mosquitto_sub curl openssl; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ -x $PY ] || missing+=("$PY")
  [ ${#missing[@]} -eq 0 ] ||
    skip "missing ${missing[*]} (HS_DEPS_EXTRA=compose bash scripts/deps.sh installs them)"
}

# ---- Podman, confined to the work directory ----------------------------------

podman_setup() {
  mkdir -p "$W/conf" "$W/run" "$W/logs"
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  # Podman caps its own nproc at 32768; a larger default makes runc fail.
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  if [ "$nofile" = unlimited ]; then nofile=1048576; fi
  cat >"$W/conf/storage.conf" <<EOC
[storage]
driver = "overlay"
runroot = "$W/run/storage"
graphroot = "$W/storage"
EOC
  # cgroupfs and runc: no systemd here, and crun fails on these cgroups.
  cat >"$W/conf/containers.conf" <<EOC
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/run/events.log"
tmp_dir = "$W/run/libpod"
runtime = "runc"
[network]
network_config_dir = "$W/networks"
EOC
  export CONTAINERS_STORAGE_CONF=$W/conf/storage.conf CONTAINERS_CONF=$W/conf/containers.conf
}

# The Debian base image: imported from the cached tarball, which debootstrap
# makes on the first run.
base_image() {
  if podman image exists "$BASE_IMAGE"; then
    log "   $BASE_IMAGE present"
    return 0
  fi
  local tar=$W/debian-$SUITE-rootfs.tar
  if [ ! -f "$tar" ]; then
    local mirror=${HS_COMPOSE_MIRROR:-}
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
      mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
      mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    fi
    mirror=${mirror:-http://deb.debian.org/debian}
    local rootfs=$W/rootfs
    rm -rf "$rootfs"
    log "   debootstrap $SUITE from $mirror"
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$W/logs/debootstrap.log" 2>&1 ||
      fail "debootstrap failed; see $W/logs/debootstrap.log"
    rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs/etc/apt/sources.list"
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s-security\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" "$SUITE" "$SUITE" "$mirror" "$SUITE" >"$rootfs/etc/apt/sources.list.d/debian.sources"
    # The host's apt settings (proxies, snapshot mirrors) apply inside too.
    cp -a /etc/apt/apt.conf.d/. "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
    tar --numeric-owner -C "$rootfs" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$rootfs"
  fi
  podman import --change 'CMD ["bash"]' "$tar" "$BASE_IMAGE" >>"$W/logs/import.log" 2>&1 ||
    fail "podman import failed; see $W/logs/import.log"
  podman run --rm --network=host "$BASE_IMAGE" grep PRETTY_NAME /etc/os-release >&2
}

# Stops a process this test started in an earlier run and recorded in
# $W/run/NAME.pid, if it is still that process.
stop_recorded() {
  local f=$W/run/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

SVC_PID=
HC_PID=
# Podman's Docker-compatible API, and a ticker running the healthchecks
# (Podman schedules them with systemd timers, and there is no systemd here).
podman_service() {
  stop_recorded podman-service "$W/podman.sock"
  stop_recorded healthcheck-ticker "hs-compose-healthcheck-ticker"
  rm -f "$W/podman.sock"
  podman system service --time=0 "unix://$W/podman.sock" >"$W/logs/podman-service.log" 2>&1 &
  SVC_PID=$!
  echo "$SVC_PID" >"$W/run/podman-service.pid"
  bash -c 'while :; do
      for c in $(podman ps -q); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
      sleep 2
    done' hs-compose-healthcheck-ticker &
  HC_PID=$!
  echo "$HC_PID" >"$W/run/healthcheck-ticker.pid"
  for _ in $(seq 1 100); do
    [ -S "$W/podman.sock" ] && break
    sleep 0.1
  done
  [ -S "$W/podman.sock" ] || fail "podman system service did not start; see $W/logs/podman-service.log"
  export DOCKER_HOST=unix://$W/podman.sock
  # docker-compose 1.29 otherwise runs a `docker` CLI for build, run and exec.
  export COMPOSE_DOCKER_CLI_BUILD=0 COMPOSE_INTERACTIVE_NO_CLI=1 DOCKER_BUILDKIT=0
}

# ---- the compose project ------------------------------------------------------

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pw() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

write_env() {
  BROKER_PORT=$(free_port)
  TLS_PORT=$(free_port)
  while [ "$TLS_PORT" = "$BROKER_PORT" ]; do TLS_PORT=$(free_port); done
  MONGO_PORT=$(free_port)
  while [ "$MONGO_PORT" = "$BROKER_PORT" ] || [ "$MONGO_PORT" = "$TLS_PORT" ]; do
    MONGO_PORT=$(free_port)
  done
  HTTP_PORT=$(free_port)
  while [ "$HTTP_PORT" = "$BROKER_PORT" ] || [ "$HTTP_PORT" = "$TLS_PORT" ] ||
    [ "$HTTP_PORT" = "$MONGO_PORT" ]; do
    HTTP_PORT=$(free_port)
  done
  PW_DEVICE=$(pw) PW_READER=$(pw) PW_ADMIN=$(pw)
  mkdir -p "$W/workflows"
  # One reading per 100 ms counted per whole second, published on hs/s/per_second.
  cat >"$W/workflows/live.yaml" <<'YAML'
id: live
online: {every: 1s, window: [-5s, -1s]}
factors:
  - tool: sliding_window
    params: {width: 1s, increment: 1s}
    sink: ticks
  - tool: sliding_apply
    params: {func: count}
    sources: [ticks, reading]
    sink: per_second
YAML
  cp "$ROOT/docker/workflows/example.yaml" "$W/workflows/"
  # Not a workflow: logged and skipped, the others still load.
  printf 'id: broken\nfactors: []\n' >"$W/workflows/broken.yaml"
  cat >"$W/compose.env" <<EOF
HS_BASE_IMAGE=$BASE_IMAGE
HS_BROKER_PORT=$BROKER_PORT
HS_BROKER_BIND=127.0.0.1
HS_BROKER_TLS_PORT=$TLS_PORT
HS_MONGO_PORT=$MONGO_PORT
HS_HTTP_PORT=$HTTP_PORT
HS_HTTP_BIND=127.0.0.1
HS_BROKER_HOST=localhost
HS_TLS_DIR=$W/tls
HS_WORKFLOWS_PATH=$W/workflows
HS_DEVICE_PASSWORD=$PW_DEVICE
HS_READER_PASSWORD=$PW_READER
HS_ADMIN_PASSWORD=$PW_ADMIN
HS_WRITER_PASSWORD=$(pw)
HS_INGEST_PASSWORD=$(pw)
HS_SCHEDULER_PASSWORD=$(pw)
HS_TOOL_PASSWORD=$(pw)
HS_API_PASSWORD=$(pw)
EOF
  chmod 600 "$W/compose.env"
}

COMPOSE_FILES=(-f "$ROOT/compose.yaml" -f "$ROOT/compose.embedded.yaml")
dc() {
  docker-compose --env-file "$W/compose.env" -p "$PROJECT" "${COMPOSE_FILES[@]}" "$@"
}

# Containers of this compose project only.
project_containers() {
  podman ps -a -q --filter "label=com.docker.compose.project=$PROJECT" "$@"
}

down_project() {
  if [ -f "$W/compose.env" ] && [ -S "$W/podman.sock" ]; then
    timeout 180 docker-compose --env-file "$W/compose.env" -p "$PROJECT" "${COMPOSE_FILES[@]}" \
      down -v --remove-orphans -t 10 >>"$W/logs/down.log" 2>&1 || true
  fi
  local left
  left=$(project_containers 2>/dev/null || true)
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    podman rm -f -t 5 $left >/dev/null 2>&1 || true
  fi
}

dump_logs() {
  [ -S "$W/podman.sock" ] || return 0
  echo "---- compose ps" >&2
  dc ps >&2 2>/dev/null || true
  for c in $(project_containers 2>/dev/null || true); do
    echo "---- $(podman inspect -f '{{.Name}}' "$c" 2>/dev/null) (last 25 lines)" >&2
    # (podman 4.3's --tail mishandles lines written in pieces)
    podman logs "$c" 2>&1 | tail -n 25 >&2 || true
  done
}

cleanup() {
  local rc=$?
  set +e
  if [ "${HS_COMPOSE_KEEP:-0}" = 1 ]; then
    log "stack kept (HS_COMPOSE_KEEP=1); remove it with $0 --down"
  else
    down_project
  fi
  stop_emulator
  sse_close
  for p in $HC_PID $SVC_PID; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -f "$W/run/podman-service.pid" "$W/run/healthcheck-ticker.pid"
  exit $rc
}

# ---- checks ------------------------------------------------------------------

# Waits until every running service container is healthy (or has no
# healthcheck).
wait_healthy() {
  local secs=$1 ids id health state name bad
  for _ in $(seq 1 $((secs / 2))); do
    bad=
    ids=$(project_containers)
    for id in $ids; do
      name=$(podman inspect -f '{{.Name}}' "$id")
      state=$(podman inspect -f '{{.State.Status}}' "$id")
      health=$(podman inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || true)
      [ "$state" = running ] || fail "$name is $state"
      [ -z "$health" ] || [ "$health" = healthy ] || bad+=" $name($health)"
    done
    [ -n "$ids" ] && [ -z "$bad" ] && return 0
    sleep 2
  done
  fail "not healthy after ${secs}s:$bad"
}

admin_sub() {
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u hs-admin -P "$PW_ADMIN" "$@"
}

# Retained statuses as "id service state reason" lines.
statuses() {
  admin_sub -t 'hs/status/+' -v -W 2 2>/dev/null | $PY -c '
import json, sys
for line in sys.stdin:
    topic, _, payload = line.partition(" ")
    d = json.loads(payload)
    print(d["id"], d["service"], d["state"], d.get("reason", "-"))' || true
}

check_scale() {
  dc up -d --no-recreate --scale tool=2 >>"$W/logs/up.log" 2>&1 || fail "scaling the tool service failed"
  wait_healthy 120
  local n
  n=$(statuses | awk '$2 == "tool" && $3 == "online"' | sort -u | wc -l)
  [ "$n" -eq 2 ] || fail "expected 2 tool replicas online, got $n: $(statuses)"
  statuses | awk '$2 == "tool"' | sed 's/^/   /' >&2
}

# The device publishes a reading every 100 ms for SECS seconds (JSON, QoS 1);
# extra mosquitto_pub arguments select the listener.
device_publish() {
  local secs=$1
  shift
  $PY - "$secs" "$@" <<'PY'
import subprocess, sys, time
secs = float(sys.argv[1])
p = subprocess.Popen(["mosquitto_pub", "-q", "1", "-t", "hs/raw/reading", "-l"] + sys.argv[2:],
                     stdin=subprocess.PIPE, text=True)
n, end = 0, time.time() + secs
while time.time() < end:
    p.stdin.write('{"t":%.6f,"v":1}\n' % time.time())
    p.stdin.flush()
    n += 1
    time.sleep(0.1)
p.stdin.close()
rc = p.wait()
print(n)
sys.exit(rc)
PY
}

# Runs hsctl ARGS in a one-off container of the hsctl service (the operator's
# account unless -e options before ARGS say otherwise), prints its output and
# returns its exit status. `docker-compose run` is used detached: attaching to
# the container's output through Podman 4.3's Docker API hangs.
hsctl_run() {
  local opts=()
  while [ "${1:-}" = -e ]; do
    opts+=(-e "$2")
    shift 2
  done
  local name rc
  name=$(dc run -d --no-deps "${opts[@]}" hsctl "$@" 2>>"$W/logs/run.log") ||
    fail "docker-compose run hsctl $* failed"
  rc=$(podman wait "$name")
  podman logs "$name"
  podman rm -f "$name" >/dev/null 2>&1 || true
  return "$rc"
}

# The scheduler added the valid files of the workflows directory.
check_workflows_loaded() {
  local ls
  ls=$(hsctl_run workflow ls 2>&1) || fail "hsctl workflow ls failed: $ls"
  echo "$ls" | sed 's/^/   /' >&2
  echo "$ls" | grep -q '^live ' || fail "workflow live (live.yaml) was not loaded"
  echo "$ls" | grep -q '^example_count ' || fail "workflow example_count was not loaded"
  ! echo "$ls" | grep -q '^broken ' || fail "the broken workflow file was loaded"
}

check_data_path() {
  # The reader subscribes through hsctl in a container, with the reader account.
  hsctl_run -e HS_MQTT_USERNAME=reader -e "HS_MQTT_PASSWORD=$PW_READER" \
    sub per_second --count 3 --timeout 60 >"$W/logs/reader.out" 2>"$W/logs/reader.err" &
  local reader=$!
  sleep 3
  local sent
  sent=$(device_publish 8 -h 127.0.0.1 -p "$BROKER_PORT" -u device -P "$PW_DEVICE") ||
    fail "the device could not publish"
  log "   device published $sent readings"
  wait "$reader" || fail "the reader got no results: $(cat "$W/logs/reader.err")"
  sed 's/^/   reader: /' "$W/logs/reader.out" >&2
  $PY - "$W/logs/reader.out" <<'PY' || fail "unexpected results: $(cat "$W/logs/reader.out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) >= 3, rows
# Ten readings a second, counted per whole second (the first and last second
# of the run may be partial).
assert all(1 <= r["v"] <= 11 for r in rows), rows
assert any(r["v"] >= 8 for r in rows), rows
PY
  # Every reading the device sent is committed (a little later at most).
  local got=0
  for _ in $(seq 1 20); do
    got=$(hsctl_run stream ls --json 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if d["stream"] == "reading": print(d["count"]); break
else: print(0)')
    [ "${got:-0}" -ge "$sent" ] && break
    log "   the store holds ${got:-?} of $sent readings; asking again"
    sleep 1
  done
  [ "$got" -eq "$sent" ] || fail "the store holds $got readings, the device sent $sent"
  log "   store holds all $got readings"
}

# Subscribes in the background with the given account for SECS seconds,
# writing what arrives (topic and payload in hex) to FILE.
watch_topic() {
  local file=$1 secs=$2 user=$3 pass=$4 topic=$5
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u "$user" -P "$pass" -t "$topic" -F '%t %x' \
    -W "$secs" >"$file" 2>&1 || true
}

check_refusals() {
  local d=$W/logs out
  # While the device publishes readings and results flow: the operator sees
  # results (the control), a device subscribing to results and a reader
  # subscribing to raw data see nothing, and nothing forged reaches a reader.
  watch_topic "$d/w-admin.out" 8 hs-admin "$PW_ADMIN" 'hs/s/per_second' &
  local w1=$!
  watch_topic "$d/w-device.out" 8 device "$PW_DEVICE" 'hs/s/#' &
  local w2=$!
  watch_topic "$d/w-reader-raw.out" 8 reader "$PW_READER" 'hs/raw/#' &
  local w3=$!
  watch_topic "$d/w-forged.out" 8 reader "$PW_READER" 'hs/s/forged' &
  local w4=$!
  sleep 1
  device_publish 4 -h 127.0.0.1 -p "$BROKER_PORT" -u device -P "$PW_DEVICE" >/dev/null ||
    fail "the device could not publish"
  out=$(mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p "$BROKER_PORT" -u device -P "$PW_DEVICE" \
    -t hs/s/forged -m '[[0, 1]]' 2>&1 || true)
  case "$out" in *"Not authorized"*) ;; *) fail "a device publishing to hs/s was not refused: '$out'" ;; esac
  log "   device -> hs/s/forged refused: $out"
  out=$(mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p "$BROKER_PORT" -u reader -P "$PW_READER" \
    -t hs/raw/reading -m '1' 2>&1 || true)
  case "$out" in *"Not authorized"*) ;; *) fail "a reader publishing to hs/raw was not refused: '$out'" ;; esac
  log "   reader -> hs/raw/reading refused: $out"
  if mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u device -P wrong -t hs/raw/reading -m 1 2>/dev/null; then
    fail "a wrong password was accepted"
  fi
  if mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t hs/raw/reading -m 1 2>/dev/null; then
    fail "an anonymous client was accepted"
  fi
  log "   wrong password and anonymous client refused"
  wait $w1 $w2 $w3 $w4
  grep -q '^hs/s/per_second ' "$d/w-admin.out" ||
    fail "the control subscriber got no results: $(cat "$d/w-admin.out")"
  log "   meanwhile the operator got $(grep -c '^hs/s/' "$d/w-admin.out") results"
  ! grep -q '^hs/' "$d/w-device.out" || fail "a device received results: $(head -3 "$d/w-device.out")"
  log "   a device subscribed to hs/s/# received nothing"
  ! grep -q '^hs/' "$d/w-reader-raw.out" || fail "a reader received raw data: $(head -3 "$d/w-reader-raw.out")"
  log "   a reader subscribed to hs/raw/# received nothing"
  ! grep -q '^hs/' "$d/w-forged.out" || fail "the forged message reached a reader"
}

# No service lost a connection to the broker since the broker started (a
# clean DISCONNECT of a stopping service is fine): a publish the ACL refuses
# makes Mosquitto drop the connection (MQTT 5), which fires the service's last
# will, and two replicas with one id take each other's connection over.
check_no_drops() {
  local id drops
  id=$(project_containers --filter label=com.docker.compose.service=mosquitto)
  drops=$(podman logs "$id" 2>&1 |
    grep -E "(Bad socket read/write on client|Socket error on client|Client) (writer|ingest|scheduler|api|tool-[0-9a-f]{8})(-[a-z]+)*[ ,:.]" |
    grep -vE "New client connected| disconnected\.$" || true)
  [ -z "$drops" ] || fail "service connections were dropped (missing ACL lines?):
$(echo "$drops" | head -10)"
  log "   no service connection was dropped"
}

check_tls() {
  rm -rf "$W/tls"
  bash "$ROOT/docker/tls/make-certs.sh" "$W/tls" 2>>"$W/logs/tls.log"
  COMPOSE_FILES+=(-f "$ROOT/compose.tls.yaml")
  dc config -q || fail "compose.tls.yaml does not validate"
  dc up -d >>"$W/logs/up.log" 2>&1 || fail "docker-compose up with TLS failed"
  wait_healthy 180
  local url
  url=$(podman inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \
    "$(project_containers --filter label=com.docker.compose.service=writer)" | grep '^HS_BROKER_URL=')
  log "   services use $url"
  case "$url" in *mqtts://*) ;; *) fail "the services do not use TLS: $url" ;; esac
  mosquitto_sub -h localhost -p "$TLS_PORT" --cafile "$W/tls/ca.crt" -u reader -P "$PW_READER" \
    -t hs/s/per_second -C 2 -W 60 -F '%t %x' >"$W/logs/tls-reader.out" 2>&1 &
  local reader=$!
  sleep 1
  local sent
  sent=$(device_publish 4 -h localhost -p "$TLS_PORT" --cafile "$W/tls/ca.crt" -u device \
    -P "$PW_DEVICE") || fail "the device could not publish over TLS"
  wait "$reader" || fail "the reader got no results over TLS: $(cat "$W/logs/tls-reader.out")"
  log "   device published $sent readings over TLS; reader got $(wc -l <"$W/logs/tls-reader.out") results over TLS"
  # Without the CA, the broker's certificate is not trusted.
  if mosquitto_pub -h localhost -p "$TLS_PORT" --capath /etc/ssl/certs -u device -P "$PW_DEVICE" \
    -t hs/raw/reading -m 1 >/dev/null 2>&1; then
    fail "a client that does not trust the CA could connect"
  fi
  check_https
}

check_clean_stop() {
  local services=(api tool ingest scheduler writer) s id code
  # hs-api stops at once, also while a client follows a live stream (the
  # engine's stop timeout, 10 s by default, would kill it otherwise).
  if [ -n "$HTTP_URL" ]; then
    local opts=() t0 secs
    [[ $HTTP_URL != https://* ]] || opts=(--cacert "$W/tls/ca.crt")
    sse_open stop "${opts[@]}" -u "reader:$PW_READER" "$HTTP_URL/api/v1/live?stream=%23"
    t0=$(date +%s.%N)
    dc stop -t 20 api >>"$W/logs/stop.log" 2>&1 || fail "docker-compose stop api failed"
    secs=$($PY -c "print('%.1f' % ($(date +%s.%N) - $t0))")
    sse_close
    log "   hs-api stopped in ${secs}s with a live stream open"
    $PY -c "import sys; sys.exit(0 if $secs < 6 else 1)" ||
      fail "hs-api took ${secs}s to stop with a live stream open"
  fi
  dc stop -t 20 "${services[@]}" >>"$W/logs/stop.log" 2>&1 || fail "docker-compose stop failed"
  for s in "${services[@]}"; do
    for id in $(project_containers --filter "label=com.docker.compose.service=$s"); do
      code=$(podman inspect -f '{{.State.ExitCode}}' "$id")
      [ "$code" = 0 ] || fail "$(podman inspect -f '{{.Name}}' "$id") exited with status $code"
    done
  done
  local st
  st=$(statuses)
  echo "$st" | sed 's/^/   /' >&2
  if echo "$st" | awk '$3 != "offline" || $4 != "stopped"' | grep -q .; then
    fail "a service did not stop cleanly: $st"
  fi
  dc stop -t 20 mosquitto >>"$W/logs/stop.log" 2>&1 || fail "stopping the broker failed"
  id=$(project_containers --filter label=com.docker.compose.service=mosquitto)
  code=$(podman inspect -f '{{.State.ExitCode}}' "$id")
  [ "$code" = 0 ] || fail "the broker exited with status $code"
  dc down -v -t 10 >>"$W/logs/down.log" 2>&1 || fail "docker-compose down failed"
  [ -z "$(project_containers)" ] || fail "containers are left: $(project_containers)"
}

# ---- the HTTP API (hs-api) -----------------------------------------------------

HTTP_URL=
# curl with the body into $W/logs/http.body; prints the HTTP status (000 when
# there was no answer).
http() {
  curl -sS -o "$W/logs/http.body" -w '%{http_code}' --max-time 30 "$@" 2>>"$W/logs/http.err" || true
}
http_expect() {
  local want=$1 what=$2 got
  shift 2
  got=$(http "$@")
  [ "$got" = "$want" ] || fail "HTTP API: $what: status $got, expected $want: $(head -c 300 "$W/logs/http.body" 2>/dev/null)"
}

# Three points in line protocol: one stream http_probe/site=a, a float, a
# negative float and an integer, at T0, T0+1 s, T0+2 s (precision=s).
HTTP_T0=1767225600
http_points() {
  printf 'http_probe,site=a value=1.5 %d\nhttp_probe,site=a value=-2.25 %d\nhttp_probe,site=a value=7i %d\n' \
    "$HTTP_T0" $((HTTP_T0 + 1)) $((HTTP_T0 + 2)) >"$W/logs/http.lp"
}

# The reader reads http_probe/site=a back: exactly the three points (curl
# options before the URL, e.g. --cacert).
http_read_back() {
  http_expect 200 "reader reads the stream" -u "reader:$PW_READER" "$@" \
    "$HTTP_URL/api/v1/streams/http_probe/site=a/data?format=ndjson"
  $PY - "$W/logs/http.body" "$HTTP_T0" <<'PY' || fail "HTTP API: the readings read back differ: $(cat "$W/logs/http.body")"
import datetime, json, sys
t0 = int(sys.argv[2])
rows = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    t = datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp()
    rows.append((t, o["v"], type(o["v"]).__name__))
assert rows == [(t0, 1.5, "float"), (t0 + 1, -2.25, "float"), (t0 + 2, 7, "int")], rows
PY
}

# Opens a Server-Sent Events stream with curl in the background (output into
# $W/logs/sse-NAME.{head,body}) and waits until its answer's header came, so
# that hs-api has subscribed; curl's PID is left in SSE_PID.
SSE_PID=
sse_open() {
  local name=$1 h=$W/logs/sse-$1.head b=$W/logs/sse-$1.body
  shift
  rm -f "$h" "$b"
  curl -sS -N -D "$h" -o "$b" --max-time 30 "$@" >/dev/null 2>>"$W/logs/http.err" &
  SSE_PID=$!
  for _ in $(seq 1 100); do
    grep -qi '^content-type' "$h" 2>/dev/null && break
    sleep 0.1
  done
  if ! head -1 "$h" 2>/dev/null | grep -q ' 200' || ! grep -qi '^content-type: text/event-stream' "$h"; then
    sse_close
    fail "HTTP API: SSE $name did not open: $(cat "$h" "$b" 2>/dev/null | head -c 300)"
  fi
}
sse_close() {
  [ -n "$SSE_PID" ] || return 0
  kill "$SSE_PID" 2>/dev/null || true
  wait "$SSE_PID" 2>/dev/null || true
  SSE_PID=
}

check_http() {
  HTTP_URL=http://127.0.0.1:$HTTP_PORT
  local u=$HTTP_URL id
  http_expect 401 "no account" "$u/api/v1/services"
  http_expect 401 "a wrong password" -u "reader:wrong-$PW_READER" "$u/api/v1/services"
  http_expect 401 "a wrong bearer token" -H "Authorization: Bearer wrong-$PW_READER" "$u/api/v1/services"
  http_expect 401 "another account's password" -u "device:$PW_READER" "$u/api/v1/services"
  log "   no account, a wrong password or token: 401"
  # Every service the broker holds a status of is listed, online.
  http_expect 200 "reader lists services" -u "reader:$PW_READER" "$u/api/v1/services"
  local want
  want=$(statuses | awk '{print $1}' | sort -u | tr '\n' ' ')
  $PY - "$W/logs/http.body" "$want" <<'PY' || fail "HTTP API: services: $(cat "$W/logs/http.body") (broker: $want)"
import json, sys
svcs = json.load(open(sys.argv[1]))["services"]
want = set(sys.argv[2].split())
got = {s["id"]: s["state"] for s in svcs}
assert set(got) == want, (sorted(got), sorted(want))
assert {"writer", "ingest", "scheduler", "api"} <= set(got), sorted(got)
assert sum(1 for i in got if i.startswith("tool-")) >= 1, sorted(got)
assert all(st == "online" for st in got.values()), got
print("   " + " ".join(sorted(got)), file=sys.stderr)
PY
  log "   reader (basic auth): every service online"
  # The device writes line protocol with its password as a token (Telegraf's
  # form) while the reader follows the stream live (SSE: hs-api subscribes to
  # hs/s/... and hs/c/...).
  sse_open live -u "reader:$PW_READER" "$u/api/v1/live?stream=http_probe/%23"
  http_points
  http_expect 204 "device writes line protocol" -H "Authorization: Token $PW_DEVICE" \
    --data-binary @"$W/logs/http.lp" "$u/api/v2/write?org=any&bucket=any&precision=s"
  http_read_back
  log "   device wrote 3 points (204); the reader read them back exactly"
  # Grafana's path: the Prometheus query API, as the reader, at the last point's time.
  http_expect 200 "reader queries as Grafana does" -u "reader:$PW_READER" \
    --data-urlencode 'query=http_probe{site="a"}' --data-urlencode "time=$((HTTP_T0 + 2))" \
    "$u/api/v1/query"
  grep -q "\"value\":\\[$((HTTP_T0 + 2)),\"7\"\\]" "$W/logs/http.body" ||
    fail "HTTP API: the Prometheus query's value: $(head -c 300 "$W/logs/http.body")"
  log "   the reader's Prometheus query (Grafana's data source) gives the last point"
  for _ in $(seq 1 50); do
    grep -q '"stream":"http_probe/site=a"' "$W/logs/sse-live.body" && break
    sleep 0.2
  done
  sse_close
  grep -q '^event: data' "$W/logs/sse-live.body" ||
    fail "HTTP API: no data event on the live stream: $(head -c 300 "$W/logs/sse-live.body")"
  grep -q '"stream":"http_probe/site=a"' "$W/logs/sse-live.body" ||
    fail "HTTP API: the live stream did not show the written points: $(head -c 300 "$W/logs/sse-live.body")"
  log "   the reader's live stream (SSE) showed them"
  # A refused body: 400, dead-lettered on hs/dead/api, which hs-api lists.
  http_expect 400 "a bad line" -H "Authorization: Token $PW_DEVICE" \
    --data-binary 'http_probe,site=a value=' "$u/api/v2/write"
  for _ in $(seq 1 25); do
    http -u "reader:$PW_READER" "$u/api/v1/dead?limit=5" >/dev/null
    grep -q 'hs/dead/api' "$W/logs/http.body" && break
    sleep 0.2
  done
  grep -q 'hs/dead/api' "$W/logs/http.body" ||
    fail "HTTP API: the refused body's dead letter is not listed: $(head -c 300 "$W/logs/http.body")"
  # A scheduler request (hs/api/scheduler, answer on hs/reply/...) and a
  # compute request's progress stream (hs/progress/<id>).
  http_expect 200 "reader checks a workflow" -u "reader:$PW_READER" \
    --data-binary @"$W/workflows/live.yaml" "$u/api/v1/workflows/check"
  sse_open progress -u "reader:$PW_READER" "$u/api/v1/requests/compose-test/events"
  sse_close
  log "   bad line 400 and listed as a dead letter; workflow check answered by the scheduler; progress stream opens"
  http_expect 403 "device reads" -H "Authorization: Bearer $PW_DEVICE" \
    "$u/api/v1/streams/http_probe/site=a/data"
  http_expect 403 "reader writes" -u "reader:$PW_READER" \
    --data-binary @"$W/logs/http.lp" "$u/api/v2/write?precision=s"
  http_expect 403 "reader deletes a workflow" -H "Authorization: Bearer $PW_READER" -X DELETE \
    "$u/api/v1/workflows/live"
  http_expect 200 "admin reads workflows" -u "hs-admin:$PW_ADMIN" "$u/api/v1/workflows"
  grep -q '"live"' "$W/logs/http.body" || fail "HTTP API: workflow live not listed: $(head -c 300 "$W/logs/http.body")"
  log "   device may not read, reader may not write (403); hs-admin reads workflows"
  id=$(project_containers --filter label=com.docker.compose.service=api)
  if podman exec "$id" test -f /usr/local/share/hyperstream/web/index.html; then
    local got
    got=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' --max-time 30 "$u/")
    case "$got" in "200 text/html"*) ;; *) fail "HTTP API: the dashboard at /: $got" ;; esac
    log "   dashboard served at / ($got)"
  else
    log "   the image has no dashboard files (no web/ in the tree): / not checked"
  fi
}

# The API over HTTPS with the broker's certificate (compose.tls.yaml): the
# reader reads the points written before, nothing without an account or
# without trusting the CA, and no plain HTTP.
check_https() {
  HTTP_URL=https://localhost:$HTTP_PORT
  http_expect 401 "no account over HTTPS" --cacert "$W/tls/ca.crt" "$HTTP_URL/api/v1/services"
  http_read_back --cacert "$W/tls/ca.crt"
  [ "$(http --capath /etc/ssl/certs "$HTTP_URL/health")" = 000 ] ||
    fail "HTTP API: a client that does not trust the CA got an answer over HTTPS"
  [ "$(http "http://127.0.0.1:$HTTP_PORT/health")" != 200 ] ||
    fail "HTTP API: plain HTTP is answered with compose.tls.yaml"
  log "   HTTPS: the reader reads the points back; no account 401; CA required; no plain HTTP"
}

up_stack() {
  dc up -d >>"$W/logs/up.log" 2>&1 || {
    tail -n 20 "$W/logs/up.log" >&2
    fail "docker-compose up failed"
  }
}

build_images() {
  dc build >"$W/logs/build.log" 2>&1 || {
    tail -n 40 "$W/logs/build.log" >&2
    fail "docker-compose build failed; see $W/logs/build.log"
  }
}

EMU_PID=
# compose.yaml's MongoDB variant, with the wire-level emulator on the host in
# place of the mongo:7 image. The emulator starts a few seconds after the
# stack, so the services have to wait for their store (hs-entrypoint).
check_mongo_variant() {
  COMPOSE_FILES=(-f "$ROOT/compose.yaml" -f "$ROOT/tests/compose/compose.mongo-emulator.yaml")
  dc config -q || fail "compose.yaml with the emulator override does not validate"
  (
    sleep 5
    exec $PY "$ROOT/tests/support/mongo_emulator.py" --host 127.0.0.1 --port "$MONGO_PORT" \
      >"$W/logs/mongo-emulator.out" 2>"$W/logs/mongo-emulator.log"
  ) &
  EMU_PID=$!
  up_stack
  wait_healthy 180
  grep -q ready "$W/logs/mongo-emulator.out" || fail "the MongoDB emulator did not start"
  local id
  id=$(project_containers --filter label=com.docker.compose.service=writer)
  podman logs "$id" 2>&1 | grep -q 'store mongo' ||
    fail "the writer does not use MongoDB: $(podman logs --tail 5 "$id" 2>&1)"
  # Waited, not crashed and restarted: one start of the writer.
  [ "$(podman logs "$id" 2>&1 | grep -c 'online as writer')" = 1 ] ||
    fail "the writer started more than once: $(podman logs "$id" 2>&1 | tail -5)"
  log "   the services waited for the store; the writer uses MongoDB (emulator on port $MONGO_PORT)"
  check_data_path
  check_http
  check_no_drops
}

stop_emulator() {
  [ -n "$EMU_PID" ] || return 0
  kill "$EMU_PID" 2>/dev/null || true
  wait "$EMU_PID" 2>/dev/null || true
  EMU_PID=
}

# Empties the work directory but for the base image tarball: Podman's own
# reset first (it unmounts what it mounted), then whatever is still mounted
# below the work directory.
fresh_workdir() {
  stop_recorded podman-service "$W/podman.sock"
  stop_recorded healthcheck-ticker "hs-compose-healthcheck-ticker"
  podman system reset --force >>"$W/logs/reset.log" 2>&1 || true
  local m
  for m in $(awk -v w="$W/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  find "$W" -mindepth 1 -maxdepth 1 ! -name "debian-$SUITE-rootfs.tar" -exec rm -rf {} +
  podman_setup
}

# ---- main ----------------------------------------------------------------------

main() {
  check_prereqs
  mkdir -p "$W"
  step "podman configuration" podman_setup
  if [ "${HS_COMPOSE_FRESH:-0}" = 1 ]; then
    step "fresh work directory" fresh_workdir
  fi
  step "base image $BASE_IMAGE" base_image
  step "podman API service" podman_service
  trap cleanup EXIT
  write_env
  if [ "${1:-}" = --down ]; then
    down_project
    exit 0
  fi
  down_project
  step "compose config" dc config -q
  step "build images" build_images
  podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep localhost/hyperstream | sed 's/^/   /' >&2
  step "up (embedded store)" up_stack
  step "all services healthy" wait_healthy 180
  statuses | sed 's/^/   /' >&2
  step "workflows directory loaded" check_workflows_loaded
  step "scale tool=2" check_scale
  step "device -> workflow -> reader" check_data_path
  step "unauthorised actions refused" check_refusals
  step "HTTP API: accounts, ingest, reads" check_http
  check_no_drops
  if [ "${HS_COMPOSE_TLS:-1}" = 1 ]; then
    step "TLS: restart and data path" check_tls
  fi
  if [ "${HS_COMPOSE_TLS:-1}" = 1 ]; then
    check_no_drops
  fi
  if [ "${HS_COMPOSE_KEEP:-0}" = 1 ]; then
    print_timings
    return 0
  fi
  step "clean stop and down" check_clean_stop
  if [ "${HS_COMPOSE_MONGO:-1}" = 1 ]; then
    if $PY -c 'import mockupdb, mongomock' 2>/dev/null; then
      step "MongoDB variant (emulator)" check_mongo_variant
      step "clean stop and down (MongoDB)" check_clean_stop
      stop_emulator
    else
      log "MongoDB variant skipped: python3-mockupdb and python3-mongomock are not installed"
    fi
  fi
  print_timings
  echo "compose test OK"
}

main "$@"
