#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one
# for a fixed time, seeded with its saved corpus (tests/fuzz/corpus/<target>,
# which is only read). New crashing inputs land in tests/fuzz/artifacts/.
#   bash scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
BUILD=${HS_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$BUILD" -DHS_FUZZ=ON -DHS_BUILD_BENCH=OFF \
  -DHS_SANITIZE="address;undefined" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(sed -n '/^set(HS_FUZZ_TARGETS/,/^)/p' tests/fuzz/CMakeLists.txt | sed '1d;$d' | tr -d ' ')
fi
cmake --build "$BUILD" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${TARGETS[@]}") >/dev/null
mkdir -p tests/fuzz/artifacts
fail=0
for t in "${TARGETS[@]}"; do
  work=$(mktemp -d)
  start=$(date +%s)
  if "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 \
       -artifact_prefix="tests/fuzz/artifacts/$t-" "$work" "tests/fuzz/corpus/$t" \
       >"$work.log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work.log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz $t: ok, $runs runs in $(( $(date +%s) - start ))s, 0 crashes"
  else
    echo "fuzz $t: CRASH (see tests/fuzz/artifacts/ and below)"
    tail -40 "$work.log"
    fail=1
  fi
  rm -rf "$work" "$work.log"
done
exit $fail
