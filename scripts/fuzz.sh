#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, the library
# instrumented for coverage too) and runs each one for a fixed time, seeded
# with its saved corpus (tests/fuzz/corpus/<target>, which is only read),
# as many at once as there are cores. New crashing inputs land in
# tests/fuzz/artifacts/. Prints per target: runs, seconds, crashes.
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
OUT=$(mktemp -d)
run_one() {  # target
  local t=$1 work start
  work=$(mktemp -d)
  start=$(date +%s)
  if "$BUILD/bin/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=2048 \
       -artifact_prefix="tests/fuzz/artifacts/$t-" "$work" "tests/fuzz/corpus/$t" \
       >"$OUT/$t.log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$OUT/$t.log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz $t: ok, $runs runs in $(( $(date +%s) - start ))s, 0 crashes"
  else
    echo "fuzz $t: CRASH (input saved under tests/fuzz/artifacts/):"
    grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$OUT/$t.log" | head -30
    echo FAILED > "$OUT/$t.failed"
  fi
  rm -rf "$work"
}
export -f run_one
export BUILD SECS OUT
printf '%s\n' "${TARGETS[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_one {}'
fail=0
ls "$OUT"/*.failed >/dev/null 2>&1 && fail=1
rm -rf "$OUT"
exit $fail
