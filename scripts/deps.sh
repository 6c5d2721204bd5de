#!/usr/bin/env bash
# Installs every Debian package that building, running and testing HyperStream-C
# needs. Idempotent: when everything is present it does nothing and exits 0.
# Run as root on Debian 12 (bookworm). Set HS_DEPS_EXTRA=compose to also install
# the container tooling used by tests/compose (podman, runc, debootstrap,
# docker-compose).
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libpaho-mqtt-dev libssl-dev zlib1g-dev libmsgpack-dev libmongoc-dev libbson-dev
  libsqlite3-dev libyaml-dev libluajit-5.1-dev libmicrohttpd-dev libcunit1-dev
  # runtime
  mosquitto mosquitto-clients sqlite3 graphviz bash-completion
  # tests: schema checks, MongoDB wire-protocol emulator, metrics format check, an HTTP client,
  # the browser of the dashboard test (tests/integration/it_web.sh, driven by playwright-core
  # from npm, which tests/web's package-lock.json pins and the test installs with npm ci;
  # Node.js with npm: the machine's, else Debian's, below)
  python3 python3-jsonschema python3-yaml python3-msgpack python3-mockupdb python3-mongomock
  prometheus curl chromium
)
# docker-compose validates compose.yaml in the normal test run; installed
# without Recommends so that no Docker engine package comes with it.
NORECS=(docker-compose)
if [ "${HS_DEPS_EXTRA:-}" = compose ]; then
  PKGS+=(podman runc debootstrap openssl)
fi
# Node.js and npm for the dashboard test: Debian's when the machine has none of its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}" "${NORECS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}" >&2
apt-get update -qq
inst=() ; norec=()
for p in "${missing[@]}"; do
  case " ${NORECS[*]} " in *" $p "*) norec+=("$p") ;; *) inst+=("$p") ;; esac
done
if [ ${#inst[@]} -gt 0 ]; then
  apt-get install -y -qq "${inst[@]}" >/dev/null
fi
if [ ${#norec[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${norec[@]}" >/dev/null
fi
# The packaged broker starts a system instance on port 1883; the project never
# uses it, tests start their own brokers on free loopback ports.
exit 0
