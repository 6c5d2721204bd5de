# Shared helpers of the fault suite (tests/faults). Each scenario starts its
# own stack in a temporary directory with the integration tests' helpers
# (tests/integration/lib.sh: it_setup, it_restart, it_wait_eq, ...), injects
# its faults, checks the store against an independent computation and prints
# one result line:
#
#   FAULT <name> checked=N lost=0 dup=0 wrong=0 gaps=0 stuck=0 duration=12.3s [notes]
#
# FAULT_MODE=short (ctest) or long (run.sh --long); FAULT_SEED fixes the
# random choices (kill order and moments) so that a failure can be replayed;
# FAULT_RESULTS, when set, names a file each result line is appended to.
FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$FAULTS_DIR/../integration/lib.sh"

# A command that fails under 'set -e' ends the scenario: say which (in the
# scenario's own shell only; failures inside command substitutions are the
# caller's to handle).
set -E
trap 'f_rc=$?; [ "$BASH_SUBSHELL" = 0 ] && echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" exited $f_rc" >&2' ERR

FAULT_MODE=${FAULT_MODE:-short}
FAULT_SEED=${FAULT_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
RANDOM=$FAULT_SEED
FAULT_T0=$(date +%s.%N)
FAULT_KILLS=""   # set by f_setup: the file kill times are recorded in

f_long() { [ "$FAULT_MODE" = long ]; }

# Starts the stack of the scenario (it_setup) and the kill log.
f_setup() {
  it_setup
  FAULT_KILLS="$IT_DIR/kills.txt"
  : > "$FAULT_KILLS"
  echo "$FAULT_SEED" > "$IT_DIR/seed"
}

# ISO-8601 form (as hsctl prints intervals) of epoch seconds.
f_iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# Random integer in [lo, hi] from the seeded generator.
f_rand() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }

# Sleeps a random time in [lo_ms, hi_ms] milliseconds.
f_sleep_ms() {
  local ms; ms=$(f_rand "$1" "$2")
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# Whether a process runs (a zombie, which has no command line, does not).
f_alive() { [ -n "$(tr -d '\0' 2>/dev/null < "/proc/$1/cmdline")" ]; }

# Waits up to secs seconds until a command prints the expected text; returns 1
# (without failing the scenario) when it does not.
f_wait_eq() {
  local expect=$1 secs=$2 got=""; shift 2
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -le $end ]; do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$expect" ] && return 0
    sleep 0.2
  done
  it_log "waited ${secs}s for '$*' to print '$expect'; last: '$got'"
  return 1
}

# SIGKILLs a process of the stack (writer, ingest, scheduler, tools, broker)
# by its pid file and records "<wall time> <name>" in the kill log.
f_kill() {
  local pid
  pid=$(it_pid "$1")
  kill -9 "$pid" 2>/dev/null || true
  echo "$(date +%s.%N) $1" >> "$FAULT_KILLS"
  for _ in $(seq 1 100); do f_alive "$pid" || break; sleep 0.02; done
}

# Restarts whatever of the stack is not running (the broker on the same port,
# with its persistence) and waits until every service is online again.
f_restart() { it_restart; }

# Sum of the resident set sizes (kB) of the given pids, or of one pid.
f_rss_kb() {
  local sum=0 v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# A value of a service's stats (hsctl ctl ID stats), e.g. f_stat ingest backlog.
# Prints "?" when the service does not answer.
f_stat() {
  { $HSCTL ctl "$1" stats 2>/dev/null || true; } | $PY -c '
import json, sys
line = sys.stdin.readline()
try:
    print(json.loads(line)["stats"][sys.argv[1]])
except Exception:
    print("?")' "$2"
}

# The scheduler has no job planned, dispatched or waiting (backlog 0).
f_sched_idle() { [ "$(f_stat scheduler backlog)" = 0 ] && echo yes || echo no; }

# Prints the result line, appends it to FAULT_RESULTS, and fails the scenario
# when a discrepancy is not zero. Arguments: name checked lost dup wrong gaps
# stuck [notes...].
f_report() {
  local name=$1 checked=$2 lost=$3 dup=$4 wrong=$5 gaps=$6 stuck=$7
  shift 7
  local dur line
  dur=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
    "$FAULT_T0" "$(date +%s.%N)")
  line=$(printf 'FAULT %-14s checked=%-7s lost=%s dup=%s wrong=%s gaps=%s stuck=%s duration=%ss seed=%s%s' \
    "$name" "$checked" "$lost" "$dup" "$wrong" "$gaps" "$stuck" "$dur" "$FAULT_SEED" \
    "${*:+  $*}")
  echo "$line"
  [ -n "${FAULT_RESULTS:-}" ] && echo "$line" >> "$FAULT_RESULTS"
  if [ "$lost$dup$wrong$gaps$stuck" != 00000 ] || [ "$checked" = 0 ]; then
    it_fail "$name: discrepancies (see the line above)"
  fi
}

# Starts a service of the stack by hand, as 'hsctl up' does (same settings
# file, service id and log, a pid file that 'hsctl down' stops), with
# optional environment assignments before the name, e.g.
#   f_spawn LD_PRELOAD=x.so tools
# Output goes through a pipe into the log, so that a file size limit on the
# service (fault 5) does not stop its logging.
f_spawn() {
  local envs=() name bin extra=()
  while [ $# -gt 1 ]; do envs+=("$1"); shift; done
  name=$1
  case $name in
    writer) bin=hs-writer ;; ingest) bin=hs-ingest ;; scheduler) bin=hs-scheduler ;;
    tools) bin=hs-tool ;; *) it_fail "f_spawn: unknown service $name" ;;
  esac
  [ "$name" = ingest ] && extra=(--set "watch_dir=$IT_DIR/inbox")
  env HS_CONFIG="$IT_DIR/hs.conf" "${envs[@]}" "$HS_BIN/$bin" --set "service_id=$name" \
    "${extra[@]}" < /dev/null > >(cat >> "$IT_DIR/logs/$name.log") 2>&1 &
  echo $! > "$IT_DIR/run/$name.pid"
}

# Waits until the stack's settings say every service is online (hsctl up
# starts nothing that runs, and waits up to 20 s for the others).
f_wait_online() { it_restart; }

# Sum of the instances of the streams under a prefix.
f_stored() {
  $HSCTL stream ls "$1" --json | $PY -c '
import json, sys
print(sum(json.loads(l)["count"] for l in sys.stdin))'
}

# Waits until f_stored PREFIX equals n, up to secs seconds; returns 1 if not.
f_wait_stored() { f_wait_eq "$2" "$3" f_stored "$1"; }

# Waits until the streams under PREFIX hold TOTAL instances or (when some
# were lost) until their count has not changed for 5 s with ingest idle; up
# to 150 s.
f_wait_settled() {
  local prev=-1 same=0 n
  for _ in $(seq 1 300); do
    n=$(f_stored "$1")
    [ "$n" = "$2" ] && return 0
    if [ "$n" = "$prev" ] && [ "$(f_stat ingest backlog)" = 0 ]; then
      same=$((same + 1))
      [ $same -ge 10 ] && return 0
    else
      same=0
    fi
    prev=$n
    sleep 0.5
  done
}

# Publishes n readings (mqttpub.py, QoS 1) to hs/raw/PREFIX/dev=<i mod 4>
# with sequential timestamps, reading indices from i0; the acknowledged ones
# are appended to $IT_DIR/acked.txt. Arguments: prefix n i0 [rate].
f_publish() {
  $PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic "hs/raw/$1" --streams 4 \
    --count "$2" --first "$3" --rate "${4:-3000}" --acked "$IT_DIR/acked.txt" \
    > "$IT_DIR/pub.json" || it_fail "publisher failed: $(cat "$IT_DIR/pub.json")"
}

# Runs the readings checker (check.py readings ...) and sets CHK_* from its
# "key=value" output.
f_check_readings() {
  local out
  out=$($PY "$FAULTS_DIR/check.py" readings --hsctl "$HS_BIN/hsctl" --data "$IT_DIR" "$@") ||
    it_fail "the readings checker failed: $out"
  eval "$(echo "$out" | grep -E '^CHK_[a-z_]+=[-0-9a-zA-Z.,:_]*$')"
}

# Compares every derived instance of the store with a recomputation from its
# raw data (check.py values) and sets VAL_checked, VAL_lost (expected but
# missing), VAL_dup (stored but not expected: extra), VAL_wrong (another
# value), VAL_reopened (reopened intervals left) and VAL_sinks.
f_check_values() {
  local out
  out=$($PY "$FAULTS_DIR/check.py" values --db "$IT_DIR/hs.db" 2> "$IT_DIR/values.txt") ||
    it_fail "the values checker failed: $out $(cat "$IT_DIR/values.txt")"
  eval "$(echo "$out" | grep -E '^CHK_[a-z_]+=[0-9]+$' | sed 's/^CHK_/VAL_/')"
  it_log "$(cat "$IT_DIR/values.txt")"
}

# Waits up to secs seconds until the derived results equal the recomputation
# and no interval is left reopened (results converge after late data);
# returns 1 (without failing the scenario) when they do not.
f_wait_values() {
  local end=$(( $(date +%s) + $1 ))
  while :; do
    f_check_values 2> /dev/null
    [ "$VAL_lost$VAL_dup$VAL_wrong$VAL_reopened" = 0000 ] && [ "$VAL_checked" -gt 0 ] && return 0
    [ "$(date +%s)" -lt $end ] || break
    sleep 1
  done
  it_log "results did not converge within $1 s: $(cat "$IT_DIR/values.txt")"
  return 1
}

# Prints how many problems the calculated intervals of the streams given
# have (each logged): not one interval "(start, end]", several intervals,
# and with "--from EPOCH" as first arguments, a start after EPOCH.
f_gaps() {
  local from="" n=0 s iv first
  if [ "$1" = --from ]; then from=$2; shift 2; fi
  for s; do
    iv=$($HSCTL stream intervals "$s" 2>&1 || true)
    if [ -n "$from" ]; then
      first=$(echo "$iv" | sed -n 's/^(\([^,]*\),.*/\1/p')
      [ -n "$first" ] && [ "$(date -u -d "$first" +%s)" -le "$from" ] ||
        { n=$((n + 1)); it_log "$s starts after $(f_iso "$from"): '$iv'"; }
    fi
    case "$iv" in "("*"]") ;; *) n=$((n + 1)); it_log "$s: '$iv'" ;; esac
    case "$iv" in *" U "*) n=$((n + 1)); it_log "$s has several intervals: $iv" ;; esac
  done
  echo "$n"
}

# Adds the workflow that counts, per second and device (plate D, dev=0..3),
# the readings of stream SOURCE into per_second/dev=<k>. Arguments: id
# source timing, where timing is the workflow's line "job_span: 1s" (batch)
# or "online: {...}".
f_count_workflow() {
  cat > "$IT_DIR/wf.yaml" <<YAML
id: $1
$3
plates:
  D: {meta: dev, values: ["0", "1", "2", "3"]}
factors:
  - tool: sliding_window
    params: {width: 1s, increment: 1s}
    sink: ticks
  - tool: sliding_apply
    params: {func: count}
    sources: [ticks, $2]
    sink: per_second
    plates: [D]
YAML
  $HSCTL workflow add "$IT_DIR/wf.yaml" > /dev/null || it_fail "workflow add failed"
}

# Checks per_second/dev=<k> after f_count_workflow over (a, b] on readings
# published by f_publish (1 ms apart, so 250 per device and second): every
# device has b - a results of 250 and is calculated over exactly (a, b].
# Arguments: a b. Sets PS_RESULTS (results of 250), PS_WRONG (devices with
# another count), PS_GAPS (devices calculated over other intervals).
f_check_per_second() {
  local k n
  PS_RESULTS=0; PS_WRONG=0; PS_GAPS=0
  for k in 0 1 2 3; do
    n=$($HSCTL stream get "per_second/dev=$k" --format csv | tail -n +2 | grep -c ',250$' || true)
    PS_RESULTS=$((PS_RESULTS + n))
    [ "$n" = $(($2 - $1)) ] || PS_WRONG=$((PS_WRONG + 1))
    [ "$($HSCTL stream intervals "per_second/dev=$k")" = "($(f_iso "$1"), $(f_iso "$2")]" ] ||
      PS_GAPS=$((PS_GAPS + 1))
  done
}
