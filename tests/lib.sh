# shellcheck shell=bash
# tests/lib.sh — helpers for the shell integration tests.
#
#   ATSRECON   the binary under test (release or the ASan/UBSan dev build)
#   T_TMP      a private temporary directory, removed at exit
#
# Each check prints "ok - ..." or "not ok - ..."; t_done prints the closing
# "NAME: N passed, N failed" line that tests/run.sh adds up.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ATSRECON=${ATSRECON:-$TOP/atsrecon}
T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d "/tmp/atsrecon-$T_NAME-XXXXXX")
T_PIDS=()
# Sanitizer failures get their own exit status so they never pass for an
# ordinary one (RC_RECORD is 1, ASan's default).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# check DESC CMD...: passes when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run CMD...: runs with stdout in $T_TMP/out, stderr in $T_TMP/err, status in $RC.
# A sanitizer report anywhere is a failure of its own.
run() {
	("$@") >"$T_TMP/out" 2>"$T_TMP/err" </dev/null	# a subshell: a SIGKILLed command is a status, not a shell message
	RC=$?
	if [ "$RC" = 86 ] || grep -q -E 'Sanitizer|runtime error:' "$T_TMP/err"; then
		not_ok "sanitizer report from: $*"
		grep -A12 -E 'ERROR: |runtime error:' "$T_TMP/err" | sed 's/^/    /' | head -14
	fi
	cat "$T_TMP/err" >>"$T_TMP/all-stderr"
	cat "$T_TMP/out" >>"$T_TMP/all-stdout"
	return 0
}

# expect_rc WANT DESC CMD...: runs CMD and checks its exit status.
expect_rc() {
	local want=$1 desc=$2
	shift 2
	run "$@"
	if [ "$RC" = "$want" ]; then
		ok "$desc (exit $RC)"
	else
		not_ok "$desc: exit $RC, want $want"
		sed 's/^/    stderr: /' "$T_TMP/err" | head -10
		sed 's/^/    stdout: /' "$T_TMP/out" | head -10
	fi
}

out_has() { grep -q -F -- "$1" "$T_TMP/out"; }
err_has() { grep -q -F -- "$1" "$T_TMP/err"; }

# start_fake NAME [ARGS...]: starts tests/fakes/NAME.py on an ephemeral port,
# waits for it, and sets FAKE_PORT, FAKE_PID and FAKE_URL (https://localhost:PORT).
# The test CA is in $T_TMP/ca (ca.pem).
start_fake() {
	local name=$1 pf i
	shift
	pf="$T_TMP/$name.$RANDOM.port"
	python3 "$TOP/tests/fakes/$name.py" --certdir "$T_TMP/ca" --port-file "$pf" \
		--idle-timeout 120 --max-lifetime 900 "$@" >>"$T_TMP/fake-$name.log" 2>&1 &
	FAKE_PID=$!
	T_PIDS+=("$FAKE_PID")
	for i in $(seq 1 200); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		not_ok "fake $name did not start"
		sed 's/^/    /' "$T_TMP/fake-$name.log" | tail -20
		return 1
	fi
	FAKE_PORT=$(cat "$pf")
	FAKE_URL="https://localhost:$FAKE_PORT"
	CA="$T_TMP/ca/ca.pem"
}

# start_tenant [tenant.py --set ...]: the Keap and Greenhouse fakes and a tenant
# configuration for them (tests/fakes/tenant.py) in $CFG with its state in $ST;
# KU/GU are the fakes' roots, kadm/gadm their admin clients. Returns 1 when a
# fake did not start.
start_tenant() {
	start_fake keap || return 1
	KU=$FAKE_URL
	start_fake greenhouse --limit-per-window 100000 || return 1
	GU=$FAKE_URL
	ADM="$TOP/tests/fakes/admin.py"
	ST="$T_TMP/state"
	CFG="$T_TMP/atsrecon.jsonc"
	python3 "$TOP/tests/fakes/tenant.py" --ats greenhouse --ats-url "$GU" --keap-url "$KU" --ca "$CA" \
		--state "$ST" "$@" >"$CFG" || not_ok "tenant config"
}
kadm() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$CA" "$@"; }
gadm() { python3 "$TOP/tests/fakes/admin.py" "$GU" "$CA" "$@"; }
aadm() { python3 "$TOP/tests/fakes/admin.py" "$AU" "$CA" "$@"; }	# any ATS fake (fault_tenant)
kwrites() { kadm GET /_admin/stats --get writes; }
run_a() { run "$ATSRECON" "$@" -c "$CFG" --log-format json; }	# a run with the tenant's configuration

t_done() {
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
}

# fault_tenant LABEL KIND [fake args] (tests/integration/faults*.sh): fresh Keap
# and ATS fakes, a configuration and state for them (the tenant's fields without
# the source mapping: the generated worlds have sources it leaves unmapped), and
# Keap tokens given through a file. Sets KU, AU, ST, CFG.
fault_tenant() {
	local label=$1 kind=$2 fields rt
	shift 2
	start_fake keap || return 1
	KU=$FAKE_URL
	start_fake "$kind" "$@" || return 1
	AU=$FAKE_URL
	ST="$T_TMP/state-$label"
	CFG="$T_TMP/$label.jsonc"
	fields=$(python3 -c 'import json, sys; sys.path.insert(0, sys.argv[1]); import tenant
print(json.dumps([f for f in tenant.FIELDS if f["from"] != "source"]))' "$TOP/tests/fakes")
	python3 "$TOP/tests/fakes/tenant.py" --set "fields=$fields" --ats "$kind" --ats-url "$AU" --keap-url "$KU" --ca "$CA" \
		--state "$ST" --set 'guards={"max_creates": 1000, "max_change_percent": 100, "max_archives": 100}' \
		--set ats.page_size=20 --set keap.page_size=25 --set keap.max_rps=100 \
		--set keap.concurrency=4 >"$CFG" || { not_ok "tenant config"; return 1; }
	rt=$(kadm POST /_admin/tokens '{}' --get refresh_token)
	printf '%s\n' "$rt" >"$T_TMP/rt-$label"
	expect_rc 0 "$kind: bootstrap Keap tokens" "$ATSRECON" auth keap --refresh-token-file "$T_TMP/rt-$label" -c "$CFG"
}
