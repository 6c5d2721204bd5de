#!/usr/bin/env bash
# Pipe mode (no broker, no store): hs-tool --pipe runs a
# tool as a UNIX filter.
# - JSON lines in, JSON lines out exactly as hsctl prints them; msgpack in,
#   msgpack out; tools compose with shell pipes and through hs-tool-<name>;
# - built-in and Lua functions; per-instance tools stream in chunks with
#   bounded memory; window tools read the whole input; sourceless tools take
#   --from/--to;
# - bad input lines are reported with their line numbers and skipped, or
#   stop the run with --strict; errors exit non-zero with a message.
. "$(dirname "$0")/lib.sh"
TOOL="$HS_BIN/hs-tool"
W=$(mktemp -d /tmp/hs-it-pipe-XXXXXX)
trap 'rm -rf "$W"' EXIT

expect_eq() {  # label, expected, got
  [ "$2" = "$3" ] || { printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2; exit 1; }
}

# JSON lines in every timestamp form the ingest service takes.
cat > "$W/in.jsonl" <<'EOF'
{"t": 1700000001, "v": 20}
{"t": "2023-11-14T22:13:22Z", "v": -40.5}
{"t": "1700000003.25", "v": 100}

[{"t": 1700000004, "v": 0}, {"t": 1700000005, "v": 37}]
EOF
got=$("$TOOL" --pipe apply --params '{"func": "c_to_f"}' < "$W/in.jsonl")
expect_eq "apply c_to_f" '{"t":"2023-11-14T22:13:21Z","v":68.0}
{"t":"2023-11-14T22:13:22Z","v":-40.900000000000006}
{"t":"2023-11-14T22:13:23.250000Z","v":212.0}
{"t":"2023-11-14T22:13:24Z","v":32.0}
{"t":"2023-11-14T22:13:25Z","v":98.6}' "$got"
got2=$("$TOOL" --pipe apply --params '{"func": "lua: return function(v) return v * 9 / 5 + 32 end"}' < "$W/in.jsonl")
expect_eq "apply lua" "$got" "$got2"
it_log "JSON lines through built-in and Lua apply"

# Lua with timestamps (epoch seconds), values of every kind, nil results.
got=$(printf '%s\n' '{"t": 10, "v": {"a": [1, "x", null]}}' '{"t": 11.5, "v": "abc"}' '{"t": 12, "v": true}' |
  "$TOOL" --pipe apply --params '{"include_timestamps": true, "func": "lua: return function(t, v) if type(v) == \"table\" then return {t = t, n = #v.a, third = v.a[3]} elseif type(v) == \"string\" then return v:upper() .. t end end"}')
expect_eq "lua values" '{"t":"1970-01-01T00:00:10Z","v":{"n":3.0,"t":10.0,"third":null}}
{"t":"1970-01-01T00:00:11.500000Z","v":"ABC11.5"}
{"t":"1970-01-01T00:00:12Z","v":null}' "$got"

# The same tool through a link named hs-tool-<name>, and two tools in a pipe.
ln -s "$TOOL" "$W/hs-tool-apply"
"$W/hs-tool-apply" --pipe --params '{"func": "neg"}' < "$W/in.jsonl" |
  "$TOOL" --pipe apply --params '{"func": "abs"}' > "$W/chain.jsonl"
got=$(head -n 2 "$W/chain.jsonl")
expect_eq "hs-tool-apply | hs-tool apply" '{"t":"2023-11-14T22:13:21Z","v":20}
{"t":"2023-11-14T22:13:22Z","v":40.5}' "$got"
it_log "hs-tool-<name> link and shell pipes"

# msgpack: a stream of [t_us, v]; identity gives the same bytes back.
"$TOOL" --pipe clock --msgpack --params '{"first": 0, "stride": 0.5}' --from 1700000000 --to 1700001000 > "$W/clock.mp"
[ "$(stat -c %s "$W/clock.mp")" -gt 2000 ] || it_fail "clock wrote too little msgpack"
"$TOOL" --pipe apply --msgpack --params '{"func": "identity"}' < "$W/clock.mp" | cmp -s - "$W/clock.mp" ||
  it_fail "msgpack identity changed the stream"
# msgpack to JSON through a Lua function that makes integers: the clock's value is its time.
"$TOOL" --pipe apply --msgpack --params '{"func": "lua: return function(v) return int(v / 1e6) end"}' < "$W/clock.mp" |
  "$TOOL" --pipe apply --msgpack --params '{"func": "identity"}' > "$W/ints.mp"
got=$(head -c 16 "$W/ints.mp" | od -An -tx1 | tr -s ' ')
expect_eq "msgpack lua int" " 92 cf 00 06 0a 24 18 25 e1 20 ce 65 53 f1 00 92" "$got"
it_log "msgpack in and out, Lua int() results"

# Window tools read the whole input: tumbling windows with a Lua reducer equal the built-in mean.
for i in $(seq 1 60); do printf '{"t": %d, "v": %d}\n' $((1700000000 + i)) $((i % 7)); done > "$W/minute.jsonl"
a=$("$TOOL" --pipe window --params '{"size": "10s", "func": "mean"}' < "$W/minute.jsonl")
b=$("$TOOL" --pipe window --params '{"size": "10s", "func": "lua: return function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end return s / #xs end"}' < "$W/minute.jsonl")
[ "$(printf '%s\n' "$a" | wc -l)" -eq 6 ] || it_fail "window gave $(printf '%s\n' "$a" | wc -l) lines, not 6: $a"
expect_eq "window lua mean" "$a" "$b"
it_log "window tool (whole input) with a Lua reducer"

# Bad input: reported with line numbers and skipped; --strict stops at the first.
printf '%s\n' '{"t": 1, "v": 1}' 'not json' '{"t": 3, "v": 3}' '{"t": 2, "v": 2}' '{"t": 3, "v": 4}' '{"v": 1, "x": 2}' > "$W/bad.jsonl"
got=$("$TOOL" --pipe apply --params '{"func": "identity"}' < "$W/bad.jsonl" 2> "$W/bad.err")
expect_eq "bad input output" '{"t":"1970-01-01T00:00:01Z","v":1}
{"t":"1970-01-01T00:00:02Z","v":2}
{"t":"1970-01-01T00:00:03Z","v":3}' "$got"
grep -q '^hs-tool: input line 2: .*; skipped$' "$W/bad.err" || it_fail "line 2 not reported: $(cat "$W/bad.err")"
grep -q '^hs-tool: input line 5: a second value at 1970-01-01T00:00:03Z (input line 3 has one); skipped$' "$W/bad.err" ||
  it_fail "line 5 not reported: $(cat "$W/bad.err")"
grep -q '^hs-tool: input line 6: ' "$W/bad.err" || it_fail "line 6 not reported: $(cat "$W/bad.err")"
grep -q '^hs-tool: 3 bad input lines skipped$' "$W/bad.err" || it_fail "no summary: $(cat "$W/bad.err")"
rc=0
"$TOOL" --pipe apply --strict --params '{"func": "identity"}' < "$W/bad.jsonl" > "$W/strict.out" 2> "$W/strict.err" || rc=$?
[ "$rc" = 1 ] || it_fail "--strict exited $rc, not 1"
grep -q '^hs-tool: input line 2: ' "$W/strict.err" || it_fail "--strict did not name line 2: $(cat "$W/strict.err")"
# Late input across chunks: with chunks of 2, t=2 arrives after (1, 3] ran.
got=$(printf '%s\n' '{"t": 1, "v": 1}' '{"t": 3, "v": 3}' '{"t": 2, "v": 2}' '{"t": 4, "v": 4}' |
  "$TOOL" --pipe apply --chunk 2 --params '{"func": "identity"}' 2> "$W/late.err" | wc -l)
[ "$got" = 3 ] || it_fail "late input: $got outputs, not 3"
grep -q 'input line 3: 1970-01-01T00:00:02Z is not later than input already processed' "$W/late.err" ||
  it_fail "late input not reported: $(cat "$W/late.err")"
# Truncated msgpack is an error.
head -c 100 "$W/clock.mp" > "$W/trunc.mp"
rc=0; "$TOOL" --pipe apply --msgpack --params '{"func": "identity"}' < "$W/trunc.mp" > /dev/null 2> "$W/trunc.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'truncated or malformed msgpack' "$W/trunc.err" || it_fail "truncated msgpack: rc $rc, $(cat "$W/trunc.err")"
it_log "bad input reported by line and skipped, or fatal with --strict"

# Errors exit non-zero with a message.
check_err() {  # expected exit code, stderr pattern, command...
  local want=$1 pat=$2; shift 2
  local rc=0
  "$@" < "$W/in.jsonl" > /dev/null 2> "$W/err.txt" || rc=$?
  [ "$rc" = "$want" ] || it_fail "$* exited $rc, not $want: $(cat "$W/err.txt")"
  grep -q -- "$pat" "$W/err.txt" || it_fail "$*: '$pat' not in: $(cat "$W/err.txt")"
}
check_err 1 "unknown tool 'nosuch'" "$TOOL" --pipe nosuch
# It names the plugin directory it looked in, not another command's list.
check_err 1 "unknown tool 'nosuch': not built in, and no plugin of that name in the plugin directory $W" \
  "$TOOL" --pipe nosuch --plugin-dir "$W"
check_err 1 "needs parameter 'func'" "$TOOL" --pipe apply
check_err 1 'parameter func: "median" is not a unary function' "$TOOL" --pipe apply --params '{"func": "median"}'
check_err 1 "not a JSON object" "$TOOL" --pipe apply --params '{func'
check_err 1 "Lua syntax error" "$TOOL" --pipe apply --params '{"func": "lua: return function(v"}'
check_err 1 "lua: time limit exceeded" "$TOOL" --pipe apply --params '{"func": "lua: return function(v) while true do end end"}'
check_err 1 "lua: memory limit exceeded" "$TOOL" --pipe apply --params '{"func": "lua: return function(v) local t = {} for i = 1, 1e9 do t[i] = i end end"}'
check_err 1 "attempt to call global 'require'" "$TOOL" --pipe apply --params '{"func": "lua: return function(v) return require(\"io\") end"}'
check_err 1 "cannot run in pipe mode" "$TOOL" --pipe aggregate --params '{"func": "mean"}'
check_err 1 "give the interval with --from and --to" "$TOOL" --pipe clock --params '{"first": 0}'
check_err 1 "unknown option '--bogus'" "$TOOL" --pipe apply --bogus
it_log "errors exit 1 with a message"

# Streaming keeps memory bounded: 3 million instances (about 57 MB of msgpack)
# through apply in chunks; the peak RSS stays far below the input size.
"$TOOL" --pipe clock --msgpack --params '{"first": 0, "stride": 0.001}' --from 1700000000 --to 1700003000 > "$W/big.mp"
/usr/bin/time -f '%M' -o "$W/rss.txt" "$TOOL" --pipe apply --msgpack \
  --params '{"func": "lua: return function(v) return v % 1000 end"}' < "$W/big.mp" | wc -c > "$W/big.bytes"
rss_kb=$(tail -n 1 "$W/rss.txt")
size_kb=$(( $(stat -c %s "$W/big.mp") / 1024 ))
it_log "3e6 instances: input $size_kb KiB, output $(cat "$W/big.bytes") bytes, peak RSS $rss_kb KiB"
[ "$(cat "$W/big.bytes")" -gt 30000000 ] || it_fail "the big stream lost output"
# Sanitizer runtimes keep freed memory in quarantine: the bound holds for normal builds only.
syms=$(nm -D "$TOOL" 2>/dev/null || true)
case "$syms" in
  *__asan_init* | *__tsan_init*) it_log "sanitizer build: peak RSS not checked" ;;
  *) [ "$rss_kb" -lt $(( size_kb / 2 )) ] || it_fail "peak RSS $rss_kb KiB is not bounded (input $size_kb KiB)" ;;
esac
it_log "ok"
