#!/usr/bin/env bash
# bench/fault_soak.sh [N] [SOURCE] — the fault soak (issue 16): a world of N
# candidates (default 10,000) in SOURCE (greenhouse, lever or ashby; default
# greenhouse) and an empty Keap, with every fault kind at a few percent on both
# sides (bodies cut with an honest or a lying Content-Length, malformed JSON,
# resets before and in the middle of a body, 5xx before and after a write
# landed, answers lost after a write), 429 storms, and the access tokens of both
# sides expired mid-run. Two passes over a fresh world each:
#   no-kill  runs until one exits 0;
#   kill     the first run is SIGKILLed at a random point, then runs until one
#            exits 0.
# For each pass it prints runs-to-converge (target 1 without kills, 2 with),
# duplicates (emails with more than one contact: target 0), lost repairs (what
# a verification run without faults still had to write, and people whose
# contact disagrees with the ATS: target 0) and Keap deletes (target 0).
# Needs ./build.sh (the static ./atsrecon). SOAK_SEED picks the kill point.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
N=${1:-10000}
SRC=${2:-greenhouse}
MAX_RUNS=${SOAK_MAX_RUNS:-6}
export T_NAME=fault_soak
ATSRECON=${ATSRECON:-$TOP/atsrecon}
[ -x "$ATSRECON" ] || { echo "fault_soak: $ATSRECON missing: run ./build.sh first" >&2; exit 2; }
. "$TOP/tests/lib.sh"
RANDOM=${SOAK_SEED:-$$}
ADM="$TOP/tests/fakes/admin.py"
kadm() { python3 "$ADM" "$KU" "$CA" "$@"; }
aadm() { python3 "$ADM" "$AU" "$CA" "$@"; }

case "$SRC" in
greenhouse) LIST='^/v3/'; LMETHOD=GET; EXTRA=(--limit-per-window 100000); EXPIRE=/_admin/expire-tokens ;;
lever) LIST='^/v1/'; LMETHOD=GET; EXTRA=(); EXPIRE= ;;
ashby) LIST='\.(list|info)$'; LMETHOD=POST; EXTRA=(); EXPIRE= ;;
*) echo "fault_soak: SOURCE is greenhouse, lever or ashby" >&2; exit 2 ;;
esac

# the fault mix: P per kind on reads; writes see 5xx before and after landing
ats_faults() {
	python3 - "$LMETHOD" "$LIST" <<'PY'
import json, sys
m = {"method": sys.argv[1], "path": sys.argv[2]}
P = 0.02
rules = [dict(k, match=m, probability=P, seed=i + 1) for i, k in enumerate([
    {"kind": "cut"}, {"kind": "truncate"}, {"kind": "malformed"}, {"kind": "midreset"},
    {"kind": "reset"}, {"kind": "status", "status": 500}, {"kind": "status", "status": 503},
    {"kind": "delay", "ms": 300}])]
# a 429 storm: 15 answers in a row (15 s at Retry-After 1), twice
rules += [{"kind": "status", "status": 429, "headers": {"Retry-After": "1"}, "match": m,
           "after": a, "times": 15} for a in (150, 900)]
print(json.dumps(rules))
PY
}
keap_faults() {
	python3 - <<'PY'
import json
P = 0.02
r = {"method": "GET", "path": "/v2/"}
w = {"method": ["POST", "PATCH", "PUT"], "path": "/v2/"}
rules = [dict(k, match=r, probability=P, seed=100 + i) for i, k in enumerate([
    {"kind": "cut"}, {"kind": "truncate"}, {"kind": "malformed"}, {"kind": "midreset"},
    {"kind": "reset"}, {"kind": "status", "status": 502}])]
rules += [dict(k, match=w, probability=P, seed=200 + i) for i, k in enumerate([
    {"kind": "status", "status": 503},                       # before the write
    {"kind": "status", "status": 500, "process": True},      # after it landed
    {"kind": "reset", "process": True},                      # the answer lost
    {"kind": "reset"}])]
rules += [{"kind": "status", "status": 429, "headers": {"Retry-After": "1"}, "match": w,
           "after": a, "times": 30} for a in (500, 4000)]
print(json.dumps(rules))
PY
}

# world: fresh fakes, N people, an empty Keap, tokens
world() {
	local label=$1
	start_fake keap --max-lifetime 7200 --idle-timeout 7200 || exit 1
	KU=$FAKE_URL
	start_fake "$SRC" "${EXTRA[@]}" --max-lifetime 7200 --idle-timeout 7200 || exit 1	# the ATS idles while Keap is written
	AU=$FAKE_URL
	ST="$T_TMP/state-$label"
	CFG="$T_TMP/$label.jsonc"
	fields=$(python3 -c 'import json, sys; sys.path.insert(0, sys.argv[1]); import tenant
print(json.dumps([f for f in tenant.FIELDS if f["from"] != "source"]))' "$TOP/tests/fakes")
	python3 "$TOP/tests/fakes/tenant.py" --ats "$SRC" --ats-url "$AU" --keap-url "$KU" --ca "$CA" \
		--state "$ST" --set "fields=$fields" \
		--set "guards={\"max_creates\": $((N * 2)), \"max_change_percent\": 100, \"max_archives\": 100}" \
		--set keap.max_rps=100 --set keap.concurrency=4 --set run.max_runtime='"50m"' \
		--set "http={\"ca_file\": \"$CA\"}" >"$CFG"	# the default retries (6), not the tests' 3
	aadm POST /_admin/canon/generate "{\"people\": $N, \"seed\": 31}" >/dev/null || exit 1
	RT=$(kadm POST /_admin/tokens '{}' --get refresh_token)
	"$ATSRECON" auth keap --refresh-token "$RT" -c "$CFG" >/dev/null 2>&1 || { echo "auth failed" >&2; exit 1; }
}
faults_on() { aadm POST /_admin/faults "$(ats_faults)" >/dev/null; kadm POST /_admin/faults "$(keap_faults)" >/dev/null; }
faults_off() { aadm POST /_admin/faults '[]' >/dev/null; kadm POST /_admin/faults '[]' >/dev/null; }

# one run with the faults on; the access tokens expire 20 s in. Sets RC.
soak_run() {
	local kill_after=${1:-0} pid t
	"$ATSRECON" run -c "$CFG" --log-format json >>"$T_TMP/runs.out" 2>>"$T_TMP/runs.err" &
	pid=$!
	t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ "$t" = 20 ]; then
			kadm POST /_admin/expire-access-tokens '{}' >/dev/null 2>&1
			[ -n "$EXPIRE" ] && aadm POST "$EXPIRE" '{}' >/dev/null 2>&1
		fi
		if [ "$kill_after" -gt 0 ] && [ "$t" -ge "$kill_after" ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
	done
	wait "$pid" 2>/dev/null
	RC=$?
}

# the figures after convergence
measure() {
	local label=$1 runs=$2 w0 w1 fa fk
	fired() { python3 -c 'import json, sys; print(sum(r["fired"] for r in json.load(sys.stdin)["rules"]))'; }
	fa=$(aadm GET /_admin/faults | fired)
	fk=$(kadm GET /_admin/faults | fired)
	echo "$label: faults fired over the pass: $fa on $SRC, $fk on Keap"
	faults_off
	w0=$(kadm GET /_admin/stats --get writes)
	"$ATSRECON" run -c "$CFG" --log-format json >/dev/null 2>&1
	local vrc=$?
	w1=$(kadm GET /_admin/stats --get writes)
	kadm GET /_admin/state >"$T_TMP/keap.json"
	aadm GET /_admin/canon/people >"$T_TMP/people.json"
	kadm GET /_admin/stats >"$T_TMP/kstats.json"
	python3 - "$label" "$runs" "$((w1 - w0))" "$vrc" "$T_TMP/keap.json" "$T_TMP/people.json" "$T_TMP/kstats.json" <<'PY'
import collections, json, sys
label, runs, vwrites, vrc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
keap = json.load(open(sys.argv[5]))
people = json.load(open(sys.argv[6]))["people"]
stats = json.load(open(sys.argv[7]))
by_email = collections.defaultdict(list)
for c in keap["contacts"]:
    for e in c.get("email_addresses") or []:
        by_email[e["email"].strip().lower()].append(c)
dups = sum(1 for v in by_email.values() if len(v) > 1)
wrong = 0
for p in people:
    if p.get("anonymized") or p.get("private") or not p["emails"]:
        continue
    cs = by_email.get(p["emails"][0].strip().lower(), [])
    if len(cs) != 1 or cs[0].get("given_name") != p["first_name"] or cs[0].get("family_name") != p["last_name"]:
        wrong += 1
deletes = sum(n for op, n in stats.get("by_operation", {}).items() if op.upper().startswith("DELETE") and "contact" in op.lower() and "tag" not in op.lower())
print("%-8s runs-to-converge %s, duplicates %d, lost repairs %d (verification run: exit %s, %d writes), "
      "Keap contact deletes %d, contacts %d for %d people" % (label, runs, dups, wrong + vwrites, vrc,
      vwrites, deletes, len(keap["contacts"]), len(people)))
PY
}

echo "fault_soak: $N candidates in $SRC, faults at 2 % per kind on both sides, 429 storms, tokens expired 20 s in"
for pass in no-kill kill; do
	world "$pass"
	faults_on
	runs=0
	T0=$(date +%s)
	if [ "$pass" = kill ]; then
		k=$((10 + RANDOM % 50))
		soak_run "$k"
		runs=1
		echo "kill:    run 1 SIGKILLed after ${k} s (exit $RC)"
	fi
	RC=1
	while [ "$runs" -lt "$MAX_RUNS" ]; do
		soak_run 0
		runs=$((runs + 1))
		echo "$pass: run $runs exit $RC ($(($(date +%s) - T0)) s so far)"
		[ "$RC" = 0 ] && break
	done
	[ "$RC" = 0 ] || runs=">$MAX_RUNS"
	measure "$pass" "$runs"
	kill "${T_PIDS[@]}" 2>/dev/null
	T_PIDS=()
done
# (none at all is the best outcome: grep's "no match" is not the soak failing)
{ grep -h '"level":"error"' "$T_TMP/runs.err" 2>/dev/null || true; } |
	sed 's/.*"msg":"\([^"]*\)".*/\1/' | sed 's/[0-9]\+/N/g' | sort | uniq -c | sort -rn |
	head -12 | sed 's/^/  errors seen: /'
