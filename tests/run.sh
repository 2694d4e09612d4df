#!/usr/bin/env bash
# tests/run.sh — every test, as `./build.sh test` runs it (after building both
# binaries). Each component ends with its own "N passed, N failed" line; this
# script adds them up and ends with the total on a line of its own, which CI
# reads. A component that crashes or prints no count line counts as a failure.
#
#   1. source rules (ci/banned.sh)
#   2. the fakes' own self-tests (Python)
#   3. C unit tests, built with ASan+UBSan (build/dev/tests/)
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
FAILED=()
PIDS=()
T=$(mktemp -d /tmp/atsrecon-run-XXXXXX)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=exitcode=86:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86

# component NAME CMD...: runs CMD with its output in build/tests/NAME.log.
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
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	if [ "$f" != 0 ]; then
		FAILED+=("$name")
		printf '%-28s FAIL  %s  [%ss]\n' "$name" "$line" "$(($(date +%s) - t0))"
		grep -E '^not ok|ERROR|runtime error' "$log" | head -20 | sed 's/^/    /'
	else
		printf '%-28s ok    %s  [%ss]\n' "$name" "$line" "$(($(date +%s) - t0))"
	fi
}

# start_fake_as VAR NAME [ARGS]: a fake for the C tests; VAR gets its root URL.
start_fake_as() {
	local var=$1 name=$2 pf="$T/$1.port" i
	shift 2
	python3 "tests/fakes/$name.py" --certdir "$T/ca" --port-file "$pf" --idle-timeout 300 \
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

for s in tests/integration/*.sh; do
	n=$(basename "$s" .sh)
	component "release-$n" env ATSRECON="$TOP/atsrecon" T_NAME="$n" bash "$s"
	# chroot: the static binary's own test; vendor: the build scripts, no binary;
	# docs: the man pages and example configs; a second binary adds nothing
	case "$n" in chroot | vendor | docs | deploy | metrics) continue ;; esac
	# the scenario suite: every source with the static binary; under the
	# sanitizers two sources (one API, the export file) keep the run short
	component "asan-$n" env ATSRECON="$TOP/build/dev/atsrecon" T_NAME="$n" SCN_KINDS=greenhouse,file BF_N=400 \
		bash "$s"
done

if [ ${#FAILED[@]} -gt 0 ]; then
	echo "failed: ${FAILED[*]}"
fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
