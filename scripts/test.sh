#!/usr/bin/env bash
# The test command of README.md: installs what is missing (Debian packages),
# builds with warnings as errors, and runs every test through ctest.
#   bash scripts/test.sh            all tests
#   HS_BUILD_DIR=build-x bash scripts/test.sh -R unit   (extra args go to ctest)
# HS_SANITIZE=address,undefined builds and tests under ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/deps.sh
else
  bash scripts/deps.sh || { echo "test.sh: run as root once to install packages" >&2; exit 1; }
fi
BUILD=${HS_BUILD_DIR:-build}
SAN=${HS_SANITIZE:-}
cmake -S . -B "$BUILD" -DHS_WERROR=ON -DHS_SANITIZE="${SAN//,/;}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" 2>&1 | tee "$BUILD/build.log" | grep -E 'warning|error' || true
if grep -qE 'warning:' "$BUILD/build.log"; then
  echo "test.sh: the build has compiler warnings" >&2
  exit 1
fi
cd "$BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
