#!/usr/bin/env bash
# The fault suite: runs every scenario (or those named) one after
# the other, each on its own stack, and prints one line per fault (instances
# checked, discrepancies, duration) and a summary.
#
#   bash tests/faults/run.sh [--long] [--seed N] [--keep] [SCENARIO...]
#
# Scenarios: kill_backfill kill_live broker_late broker_stale disk_full
# store_locked tool_crash ingest_stall late_buffered late_backfill
# writer_kill_replace writer_kill_blocks soak. --long runs the long mode
# (more data, more kills, a 10-minute soak). --seed replays the random choices
# of a failed run (each result line prints its seed). --keep keeps every
# stack's directory.
# HS_BIN names the directory of the binaries (default: build/bin of the
# repository). Exit status 0 when every scenario passed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ALL="kill_backfill kill_live broker_late broker_stale disk_full store_locked tool_crash ingest_stall late_buffered late_backfill writer_kill_replace writer_kill_blocks soak"
export FAULT_MODE=short
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --long) FAULT_MODE=long ;;
    --seed) export FAULT_SEED=$2; shift ;;
    --keep) export IT_KEEP=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) case " $ALL " in *" $1 "*) names+=("$1") ;; *) echo "unknown scenario '$1' ($ALL)" >&2; exit 1 ;; esac ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || read -r -a names <<< "$ALL"
export HS_BIN=${HS_BIN:-$(cd "$HERE/../.." && pwd)/build/bin}
[ -x "$HS_BIN/hsctl" ] || { echo "no hsctl in $HS_BIN: build first or set HS_BIN" >&2; exit 1; }
OUT=$(mktemp -d /tmp/hs-faults-XXXXXX)
export FAULT_RESULTS=$OUT/results.txt
: > "$FAULT_RESULTS"
echo "fault suite ($FAULT_MODE mode, binaries $HS_BIN); logs in $OUT"
failed=0
t0=$(date +%s)
for n in "${names[@]}"; do
  script=$HERE/f_$n.sh
  [ "$n" = soak ] && script=$HERE/soak.sh
  before=$(wc -l < "$FAULT_RESULTS")
  if bash "$script" > "$OUT/$n.log" 2>&1; then
    tail -n +$((before + 1)) "$FAULT_RESULTS"
  else
    failed=$((failed + 1))
    if [ "$(wc -l < "$FAULT_RESULTS")" -gt "$before" ]; then
      tail -n +$((before + 1)) "$FAULT_RESULTS"
    else
      echo "FAULT $n: no result (the scenario stopped early)"
    fi
    echo "  FAILED: $(grep -m1 '^FAIL' "$OUT/$n.log" || tail -n 1 "$OUT/$n.log") (log: $OUT/$n.log)"
  fi
done
echo "fault suite: ${#names[@]} scenarios, $failed failed, $(( $(date +%s) - t0 )) s"
[ $failed -eq 0 ]
