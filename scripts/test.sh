#!/usr/bin/env bash
# The test command of README.md. Installs what is missing (Debian packages),
# then runs every stage:
#   build  the format check (.clang-format) and the project with warnings
#          as errors (zero warnings required)
#   tests  every ctest test: unit, fuzz corpus replays, integration with real
#          brokers, schemas, fault suite (short mode), compose (containers)
#   asan   the unit, replay and integration tests again under ASan + UBSan
#          (services too: any sanitizer report in a service log fails)
#   tsan   the MQTT wrapper and the services' threads under ThreadSanitizer
#   fuzz   every libFuzzer target for HS_FUZZ_SECONDS (default 30) each
# HS_TEST_STAGES selects stages (default: all, in this order); extra
# arguments go to the ctest of the "tests" stage, e.g. -R unit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGES=${HS_TEST_STAGES:-"build tests asan tsan fuzz"}
JOBS=$(nproc)
if [ "$(id -u)" -eq 0 ]; then
  HS_DEPS_EXTRA=${HS_DEPS_EXTRA-compose} bash scripts/deps.sh
else
  bash scripts/deps.sh || { echo "test.sh: run as root once to install packages" >&2; exit 1; }
fi
stage() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
has() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }
t_start=$(date +%s)

build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DHS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS" 2>&1 | tee "$dir/build.log" | grep -E 'warning|error' || true
  if grep -qE 'warning:|error:' "$dir/build.log"; then
    echo "test.sh: the build in $dir has compiler warnings or errors" >&2
    exit 1
  fi
}

BUILD=${HS_BUILD_DIR:-build}
if has build || has tests; then
  stage "format: every C file as .clang-format says"
  git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror || {
    echo "test.sh: run clang-format -i on the files above" >&2; exit 1; }
  stage "build ($BUILD)"
  build "$BUILD"
fi
if has tests; then
  stage "tests"
  rm -f "$BUILD/faults-results.txt"
  rc=0
  (cd "$BUILD" && ctest --output-on-failure -j "$JOBS" "$@") || rc=$?
  if [ -s "$BUILD/faults-results.txt" ]; then
    echo "fault suite (short mode): instances checked and discrepancies per fault"
    sort "$BUILD/faults-results.txt"
  fi
  [ $rc -eq 0 ] || exit $rc
fi
if has asan; then
  stage "asan: ASan + UBSan build and tests"
  build build-asan -DHS_SANITIZE="address;undefined" -DHS_BUILD_BENCH=OFF
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp" \
      ctest --output-on-failure -j "$JOBS" \
      -L 'unit|fuzz|integration|schemas' -E 'compose|faults')
fi
if has tsan; then
  stage "tsan: ThreadSanitizer on the MQTT wrapper and the services"
  build build-tsan -DHS_SANITIZE=thread -DHS_BUILD_BENCH=OFF
  (cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      ctest --output-on-failure -j "$JOBS" -R '^(unit\.(mqtt|base|log)|it\.(workflow|ops|writer_kill|workers|api))$')
fi
if has fuzz; then
  stage "fuzz: every target for ${HS_FUZZ_SECONDS:-30} s"
  bash scripts/fuzz.sh "${HS_FUZZ_SECONDS:-30}"
fi
echo
echo "test.sh: all stages passed ($STAGES) in $(( $(date +%s) - t_start )) s"
