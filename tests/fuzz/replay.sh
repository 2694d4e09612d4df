#!/usr/bin/env bash
# tests/fuzz/replay.sh — the committed fuzz corpora as a regression test: every
# input of tests/fuzz/corpus/TARGET runs once through build/fuzz/fuzz/TARGET
# (ASan + UBSan + LeakSanitizer); an input that crashes, leaks, hits UB or
# hangs (FUZZ_TIMEOUT s, default 25) fails. Counts inputs: "N passed, N failed".
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FUZZ_BIN:-$TOP/build/fuzz/fuzz}
TMO=${FUZZ_TIMEOUT:-25}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
for dir in "$TOP"/tests/fuzz/corpus/*/; do
	t=$(basename "$dir")
	files=("$dir"*)
	[ -e "${files[0]}" ] || continue
	if [ ! -x "$BIN/$t" ]; then
		echo "not ok $t: not built ($BIN/$t)"
		fail=$((fail + 1))
		continue
	fi
	log=$(mktemp)
	"$BIN/$t" -runs=1 -timeout="$TMO" "${files[@]}" >"$log" 2>&1 </dev/null
	rc=$?
	n=$(grep -c '^Executed ' "$log")
	if [ "$rc" = 0 ] && [ "$n" = "${#files[@]}" ]; then
		echo "ok $t: ${#files[@]} inputs"
		pass=$((pass + n))
	else
		bad=$(sed -n 's/^Running: //p' "$log" | tail -n 1)
		echo "not ok $t: exit $rc on ${bad:-?} ($n of ${#files[@]} inputs ran clean)"
		grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
		pass=$((pass + n))
		fail=$((fail + 1))
	fi
	rm -f "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
