#!/usr/bin/env bash
# tests/run.sh — every test, as `./build.sh test` runs it (after building both
# binaries). Each component ends with its own "N passed, N failed" line; this
# script adds them up and ends with the total on a line of its own, which CI
# reads. A component that crashes or prints no count line counts as a failure.
#
#   1. source rules (ci/banned.sh)
#   2. the fakes' own self-tests (Python)
#   3. C unit tests, built with ASan+UBSan (build/dev/tests/); the fuzz corpora
#      replayed (tests/fuzz/replay.sh); valgrind's memcheck (tests/valgrind.sh)
#      only when asked for by name (`tests/run.sh valgrind`: about 4 minutes)
#   4. integration tests (tests/integration/*.sh), once with the static release
#      binary and once with the sanitizer build
#
# Usage: tests/run.sh [PATTERN]   (only components whose name contains PATTERN;
#                                  logs then in build/tests-PATTERN/)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 2
PATTERN=${1:-}
LOGDIR="$TOP/build/tests${PATTERN:+-$PATTERN}"	# a partial run keeps its own logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
TOTAL_PASS=0
TOTAL_FAIL=0
T_START=$(date +%s)
FAILED=()
PIDS=()
T=$(mktemp -d /tmp/atsrecon-run-XXXXXX)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${POOL[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=exitcode=86:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86

# component NAME CMD...: runs CMD with its output in build/tests/NAME.log and
# its result in NAME.result ("pass fail secs line"); prints the verdict line.
component() {
	local name=$1 log line p f rc t0
	shift
	[ -n "$PATTERN" ] && [[ "$name" != *"$PATTERN"* ]] && return 0
	log="$LOGDIR/$name.log"
	t0=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	line=$(grep -E '^([A-Za-z0-9_./-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		p=0
		f=1
		line="no count line (exit $rc)"
	else
		p=$(echo "$line" | sed -E 's/^([^ ]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
		f=$(echo "$line" | sed -E 's/^([^ ]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1	# a non-zero exit with no failure counted is still a failure
			line="$line (but exit $rc)"
		fi
	fi
	if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" && [ "$f" = 0 ]; then
		f=1
		line="$line (sanitizer report)"
	fi
	echo "$p $f $(($(date +%s) - t0)) $line" >"$LOGDIR/$name.result"
	if [ "$f" != 0 ]; then
		printf '%-28s FAIL  %s  [%ss]\n' "$name" "$line" "$(($(date +%s) - t0))"
		grep -E '^not ok|ERROR|runtime error' "$log" | head -20 | sed 's/^/    /'
	else
		printf '%-28s ok    %s  [%ss]\n' "$name" "$line" "$(($(date +%s) - t0))"
	fi
}

# pooled NAME CMD...: a component run beside others, at most TEST_JOBS at once
# (default 3: most of a component's time is spent waiting on fakes, not on the
# CPU). Each pooled component has its own fakes, ports and temporary directory.
TEST_JOBS=${TEST_JOBS:-3}
POOL=()
pooled() {
	[ -n "$PATTERN" ] && [[ "$1" != *"$PATTERN"* ]] && return 0
	while [ "$(jobs -rp | grep -c -F -x -f <(printf '%s\n' "${POOL[@]:-none}"))" -ge "$TEST_JOBS" ]; do
		wait -n 2>/dev/null || sleep 0.2
	done
	component "$@" &
	POOL+=($!)
}
pool_wait() {
	local p
	for p in "${POOL[@]}"; do wait "$p" 2>/dev/null; done
	POOL=()
}

# start_fake_as VAR NAME [ARGS]: a fake for the C tests; VAR gets its root URL.
# Idle for as long as it may live: under memcheck on a busy machine the unit
# tests before test_http and test_keap took more than 5 minutes, and a fake
# gone idle made every later check fail (--max-lifetime and cleanup bound it).
start_fake_as() {
	local var=$1 name=$2 pf="$T/$1.port" i
	shift 2
	python3 "tests/fakes/$name.py" --certdir "$T/ca" --port-file "$pf" --idle-timeout 1800 \
		--max-lifetime 1800 "$@" >>"$LOGDIR/fake-$name.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 200); do [ -s "$pf" ] && break; sleep 0.05; done
	printf -v "$var" 'https://localhost:%s' "$(cat "$pf" 2>/dev/null)"
	export "${var?}"
}

echo "atsrecon tests ($(nproc) cores), logs in build/tests/"
component banned ci/banned.sh
for f in tests/fakes/test_*.py; do
	component "fake-$(basename "$f" .py | sed 's/^test_//')" python3 "$f"
done

start_fake_as ATSRECON_TEST_ECHO echo
start_fake_as ATSRECON_TEST_ECHO12 echo --tls-max 1.2
export ATSRECON_TEST_CA="$T/ca/ca.pem"
start_fake_as ATSRECON_TEST_KEAP keap
start_fake_as ATSRECON_TEST_GREENHOUSE greenhouse --limit-per-window 100000
[ -f tests/fakes/lever.py ] && start_fake_as ATSRECON_TEST_LEVER lever
[ -f tests/fakes/ashby.py ] && start_fake_as ATSRECON_TEST_ASHBY ashby
for t in build/dev/tests/test_*; do
	[ -x "$t" ] && component "unit-$(basename "$t" | sed 's/^test_//')" "$t"
done
# the committed fuzz corpora through the libFuzzer targets (build/fuzz/, clang
# ASan+UBSan), and memcheck over the unit tests and one scenario (build/valgrind/)
component fuzz-replay tests/fuzz/replay.sh
# memcheck takes about 4 minutes: only when asked (tests/run.sh valgrind, ./build.sh valgrind)
if [ -n "$PATTERN" ]; then
	component valgrind env T_NAME=valgrind bash tests/valgrind.sh
fi

# Integration tests: each starts its own fakes. The timing-sensitive ones
# (signals, progress: they measure reactions within fractions of a second)
# run alone at the end; the rest share the pool, the long scenario suite split
# by source so its parts run side by side.
SERIAL="signals progress"
# the longest first (each source's scenario suite takes 2-5 minutes, the engine's
# between 2 and 3), so the pool is not left waiting on one long component at the
# end; the rest in name order
FIRST="scenarios engine faults faults_partial"
ORDERED=()
for n in $FIRST; do [ -f "tests/integration/$n.sh" ] && ORDERED+=("tests/integration/$n.sh"); done
for s in tests/integration/*.sh; do
	case " $FIRST " in *" $(basename "$s" .sh) "*) continue ;; esac
	ORDERED+=("$s")
done
for s in "${ORDERED[@]}"; do
	n=$(basename "$s" .sh)
	case " $SERIAL " in *" $n "*) continue ;; esac
	if [ "$n" = brownfield ]; then
		# a Keap another tool filled, 2,000 candidates per source, each source
		# beside the others; under the sanitizers a smaller world on two
		for k in greenhouse lever ashby file; do
			pooled "release-$n-$k" env ATSRECON="$TOP/atsrecon" T_NAME="$n-$k" BF_SOURCES=$k bash "$s"
		done
		pooled "asan-$n" env ATSRECON="$TOP/build/dev/atsrecon" T_NAME="$n" SCN_KINDS=greenhouse,file \
			BF_N=400 bash "$s"
		continue
	fi
	if [ "$n" = scenarios ]; then
		# the scenario suite: every source with the static binary; under the
		# sanitizers two sources (one API, the export file) keep the run short.
		# Longest first: greenhouse and ashby take 4-5 minutes, lever and file 2-3.
		for bk in release:greenhouse asan:greenhouse release:ashby release:lever asan:file \
		    release:file; do
			b=${bk%%:*}
			k=${bk#*:}
			if [ "$b" = release ]; then bin="$TOP/atsrecon"; else bin="$TOP/build/dev/atsrecon"; fi
			pooled "$b-$n-$k" env ATSRECON="$bin" T_NAME="$n-$k" SCN_KINDS=$k bash "$s"
		done
		continue
	fi
	pooled "release-$n" env ATSRECON="$TOP/atsrecon" T_NAME="$n" bash "$s"
	# chroot: the static binary's own test; vendor: the build scripts, no binary;
	# docs: the man pages and example configs; a second binary adds nothing
	case "$n" in chroot | vendor | docs | deploy | metrics) continue ;; esac
	pooled "asan-$n" env ATSRECON="$TOP/build/dev/atsrecon" T_NAME="$n" bash "$s"
done
pool_wait
for n in $SERIAL; do
	[ -f "tests/integration/$n.sh" ] || continue
	component "release-$n" env ATSRECON="$TOP/atsrecon" T_NAME="$n" bash "tests/integration/$n.sh"
	component "asan-$n" env ATSRECON="$TOP/build/dev/atsrecon" T_NAME="$n" bash "tests/integration/$n.sh"
done

# the totals, from every component's result
for r in "$LOGDIR"/*.result; do
	[ -f "$r" ] || continue
	read -r p f _ <"$r"
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	[ "$f" != 0 ] && FAILED+=("$(basename "$r" .result)")
done
echo "wall time: $(($(date +%s) - T_START)) s"
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "failed: ${FAILED[*]}"
fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
