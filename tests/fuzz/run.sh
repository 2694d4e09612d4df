#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [TARGET...] — fuzzes each target (default: every
# build/fuzz/fuzz/fuzz_*) for SECONDS, starting from its committed seeds
# (tests/fuzz/corpus/TARGET, never written) plus what earlier runs found
# (build/fuzz/corpus/TARGET). Reports each target's executions, and any crash,
# leak, UB report or hang (input over FUZZ_TIMEOUT s, default 25) with the
# input saved as build/fuzz/artifacts/TARGET-*; replay one with
# `build/fuzz/fuzz/TARGET FILE`. FUZZ_PARALLEL targets run at once (default 1:
# the machine may be shared). Ends with "N passed, N failed" (targets).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FUZZ_BIN:-$TOP/build/fuzz/fuzz}
OUT=$TOP/build/fuzz
SECS=${1:-60}
shift || true
PAR=${FUZZ_PARALLEL:-1}
TMO=${FUZZ_TIMEOUT:-25}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
case $SECS in '' | *[!0-9]*) echo "fuzz: SECONDS must be a number" >&2; exit 2 ;; esac
if [ $# -gt 0 ]; then TARGETS=("$@"); else
	TARGETS=()
	for b in "$BIN"/fuzz_*; do [ -x "$b" ] && TARGETS+=("$(basename "$b")"); done
fi
[ ${#TARGETS[@]} -gt 0 ] || { echo "fuzz: no targets in $BIN (./build.sh fuzz builds them)" >&2; exit 2; }
mkdir -p "$OUT/artifacts" "$OUT/logs"

one() {	# one TARGET: fuzz it, write its summary line to logs/TARGET.sum
	local t=$1 log="$OUT/logs/$1.log" dict=() execs rc arts
	mkdir -p "$OUT/corpus/$t"
	case $t in fuzz_greenhouse | fuzz_lever | fuzz_ashby | fuzz_keap | fuzz_s3 | fuzz_lambda | fuzz_headers)
		dict=(-dict="$TOP/tests/fuzz/wire.dict") ;;
	esac
	rm -f "$OUT/artifacts/$t-"*
	"$BIN/$t" -max_total_time="$SECS" -timeout="$TMO" -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$OUT/artifacts/$t-" "$OUT/corpus/$t" "$TOP/tests/fuzz/corpus/$t" \
		>"$log" 2>&1 </dev/null
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	arts=$(ls "$OUT/artifacts/$t-"* 2>/dev/null | head -n 3 | tr '\n' ' ')
	if [ "$rc" = 0 ] && [ -z "$arts" ]; then
		printf 'ok   %-16s %s executions in %s s, 0 crashes, corpus %s inputs\n' "$t" "${execs:-?}" \
			"$SECS" "$(ls "$OUT/corpus/$t" | wc -l)" >"$OUT/logs/$t.sum"
	else
		{
			printf 'FAIL %-16s exit %s after %s executions: %s\n' "$t" "$rc" "${execs:-?}" "${arts:-no artifact}"
			grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
		} >"$OUT/logs/$t.sum"
	fi
}

running=0
for t in "${TARGETS[@]}"; do
	[ -x "$BIN/$t" ] || { printf 'FAIL %-16s not built\n' "$t" >"$OUT/logs/$t.sum"; continue; }
	one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$PAR" ]; then wait -n; running=$((running - 1)); fi
done
wait
pass=0
fail=0
for t in "${TARGETS[@]}"; do
	cat "$OUT/logs/$t.sum"
	if grep -q '^ok' "$OUT/logs/$t.sum"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
