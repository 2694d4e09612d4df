#!/usr/bin/env bash
# tests/fuzz/record.sh [TARGET...] — records seed inputs from the test fakes:
# each target runs once with FUZZ_RECORD set (wire.h), its requests going to
# a fake with a small seeded world, and the answers become
# tests/fuzz/corpus/TARGET/fakes-*. Run after `make MODE=fuzz fuzzers`
# (./build.sh fuzz builds them); the fakes stop by themselves.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FUZZ_BIN:-$TOP/build/fuzz/fuzz}
T=$(mktemp -d /tmp/atsrecon-record-XXXXXX)
PIDS=()
trap '[ -n "${KEEP:-}" ] && echo "kept $T"; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

start() {	# start VAR NAME [ARGS]: VAR = the fake's root URL
	local var=$1 name=$2 pf="$T/$1.port" i
	shift 2
	python3 "$TOP/tests/fakes/$name.py" --certdir "$T/ca" --port-file "$pf" --idle-timeout 60 \
		--max-lifetime 300 "$@" >>"$T/fake-$name.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 200); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || { echo "record: fake $name did not start" >&2; exit 1; }
	printf -v "$var" 'https://localhost:%s' "$(cat "$pf")"
	export "${var?}"
}

record() {	# record TARGET NAME: one run of TARGET into corpus/TARGET/NAME
	local t=$1 out="$TOP/tests/fuzz/corpus/$1/$2"
	mkdir -p "$(dirname "$out")"
	printf x >"$T/in"
	FUZZ_LOG=${FUZZ_LOG:-} FUZZ_RECORD="$out" "$BIN/$t" -runs=1 "$T/in" >"$T/$t.log" 2>&1 ||
		{ echo "record: $t failed" >&2; tail -5 "$T/$t.log" >&2; }
	echo "record: $out ($(stat -c %s "$out") bytes)"
}

want() { [ ${#TARGETS[@]} -eq 0 ] || [[ " ${TARGETS[*]} " == *" $1 "* ]]; }
TARGETS=("$@")
start ATSRECON_TEST_KEAP keap --api-key fuzz-keap-key
export ATSRECON_TEST_CA="$T/ca/ca.pem"
for kind in greenhouse lever ashby; do
	want "fuzz_$kind" || continue
	case $kind in
	greenhouse) start ATSRECON_TEST_GREENHOUSE greenhouse --limit-per-window 100000; url=$ATSRECON_TEST_GREENHOUSE ;;
	lever) start ATSRECON_TEST_LEVER lever; url=$ATSRECON_TEST_LEVER ;;
	ashby) start ATSRECON_TEST_ASHBY ashby; url=$ATSRECON_TEST_ASHBY ;;
	esac
	python3 "$TOP/tests/fakes/seed_demo.py" "$url" "$ATSRECON_TEST_KEAP" "$ATSRECON_TEST_CA" \
		--ats "$kind" --candidates 5 --seed 7 >"$T/seed-$kind.log" 2>&1 ||
		{ echo "record: seeding $kind failed" >&2; tail -5 "$T/seed-$kind.log" >&2; }
	record "fuzz_$kind" fakes-5-candidates
done
if want fuzz_keap; then
	if [ -z "${ATSRECON_TEST_GREENHOUSE:-}" ]; then
		start ATSRECON_TEST_GREENHOUSE greenhouse --limit-per-window 100000
		python3 "$TOP/tests/fakes/seed_demo.py" "$ATSRECON_TEST_GREENHOUSE" "$ATSRECON_TEST_KEAP" \
			"$ATSRECON_TEST_CA" --ats greenhouse --candidates 5 --seed 7 >"$T/seed-keap.log" 2>&1
	fi
	record fuzz_keap fakes-5-contacts
fi
if want fuzz_s3; then
	start ATSRECON_TEST_S3 s3 --access-key-id AKIDFUZZ --secret-access-key fuzz-secret-key \
		--bucket atsrecon-test
	AWS_ACCESS_KEY_ID=AKIDFUZZ AWS_SECRET_ACCESS_KEY=fuzz-secret-key record fuzz_s3 fakes-fresh-state
fi
if want fuzz_plan; then
	mkdir -p "$TOP/tests/fuzz/corpus/fuzz_plan"
	FUZZ_MAKE_SEED="$TOP/tests/fuzz/corpus/fuzz_plan/five-ops.jsonl" "$BIN/fuzz_plan" >/dev/null 2>&1
	echo "record: tests/fuzz/corpus/fuzz_plan/five-ops.jsonl"
fi
if want fuzz_codec; then
	mkdir -p "$TOP/tests/fuzz/corpus/fuzz_codec"
	FUZZ_MAKE_SEED="$TOP/tests/fuzz/corpus/fuzz_codec/candidate" "$BIN/fuzz_codec" >/dev/null 2>&1
	echo "record: tests/fuzz/corpus/fuzz_codec/candidate"
fi
if want fuzz_snap; then	# the contact pages of fuzz_keap's seed
	mkdir -p "$TOP/tests/fuzz/corpus/fuzz_snap"
	python3 - "$TOP/tests/fuzz/corpus/fuzz_keap/fakes-5-contacts" "$TOP/tests/fuzz/corpus/fuzz_snap" <<'PY'
import sys
n = 0
for part in open(sys.argv[1]).read().split("\n==\n"):
    body = part.split("\n\n", 1)[1] if "\n\n" in part else ""
    if '"contacts"' in body:
        n += 1
        open("%s/keap-page-%d" % (sys.argv[2], n), "w").write(body)
PY
	echo "record: tests/fuzz/corpus/fuzz_snap/keap-page-*"
fi
