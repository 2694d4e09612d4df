#!/usr/bin/env bash
# Integration: resilient reads (issue 16). On every source (Greenhouse, Lever,
# Ashby, and Keap itself) each fault kind lands on a page of a multi-page
# listing: a body cut short with an honest Content-Length, one whose
# Content-Length is not kept, malformed JSON, a reset before and in the middle
# of the body, and a 500. The run reads the page again and repairs everything
# in ONE run (exit 0; the next run writes nothing). Then a page that fails
# beyond its retries: the run reconciles what it read, exits 5 naming what was
# not read, keeps the window, applies no archive tag; the next runs repair it.
. "$(dirname "$0")/../lib.sh"

ADM="$TOP/tests/fakes/admin.py"

# faults_json METHOD PATH_REGEX: every fault kind once, on every other request
# of the listing (each rule counts only the requests it is asked about)
faults_json() {
	python3 - "$1" "$2" <<'PY'
import json, sys
m = {"method": sys.argv[1], "path": sys.argv[2]}
kinds = [{"kind": "cut"}, {"kind": "truncate"}, {"kind": "malformed"}, {"kind": "midreset"},
         {"kind": "reset"}, {"kind": "status", "status": 500}]
print(json.dumps([dict(k, match=m, after=i, times=1, name="%s-%d" % (k["kind"], i))
                  for i, k in enumerate(kinds)]))
PY
}
# all_fired ADMIN: every rule fired once
all_fired() {
	"$1" GET /_admin/faults | python3 -c '
import json, sys
r = json.load(sys.stdin)["rules"]
bad = [x["name"] for x in r if x["fired"] != 1]
print("not fired: %s" % bad if bad else "all fired", file=sys.stderr)
sys.exit(1 if bad else 0)'
}
# contact_field EMAIL FIELD: a field of the one Keap contact with this email
contact_field() {
	kadm GET /_admin/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = [c for c in s["contacts"]
     if any(e.get("email", "").strip().lower() == sys.argv[1].lower() for e in c.get("email_addresses") or [])]
print(len(c), c[0].get(sys.argv[2]) if c else "")' "$1" "$2"
}
person() {	# person N FIELD: a field of the Nth person (0-based) in the ATS
	aadm GET /_admin/canon/people | python3 -c '
import json, sys
p = json.load(sys.stdin)["people"][int(sys.argv[1])]
v = p[sys.argv[2]]
print(v[0] if isinstance(v, list) else v)' "$1" "$2"
}

# one_source KIND METHOD LISTING_PATH [fake args]
one_source() {
	local kind=$1 method=$2 lpath=$3 w e0 e1 n
	shift 3
	fault_tenant "$kind" "$kind" "$@" || return 1
	aadm POST /_admin/canon/generate '{"people": 150, "seed": 21}' >/dev/null || not_ok "$kind: seed people"

	# the first run: every fault kind on the ATS listing
	aadm POST /_admin/faults "$(faults_json "$method" "$lpath")" >/dev/null
	run_a run
	check "$kind: every fault kind on the listing, still one complete run (exit $RC)" test "$RC" = 0
	check "$kind: every fault fired once" all_fired aadm
	aadm POST /_admin/faults '[]' >/dev/null
	w=$(kwrites)
	run_a run
	check "$kind: the next run has nothing left to write (exit $RC)" test "$RC" = 0 -a "$(kwrites)" = "$w"

	# drift in the ATS, faults on both listings, a full sweep
	e0=$(person 0 emails)
	e1=$(person 149 emails)
	aadm POST /_admin/canon/edit "{\"id\": \"$(person 0 id)\", \"last_name\": \"Faultfirst\"}" >/dev/null
	aadm POST /_admin/canon/edit "{\"id\": \"$(person 149 id)\", \"last_name\": \"Faultlast\"}" >/dev/null
	aadm POST /_admin/faults "$(faults_json "$method" "$lpath")" >/dev/null
	kadm POST /_admin/faults "$(faults_json GET '/v2/contacts$')" >/dev/null
	run_a run --full
	check "$kind: a full sweep with faults on both listings completes (exit $RC)" test "$RC" = 0
	check "$kind: every ATS fault fired" all_fired aadm
	check "$kind: every Keap fault fired" all_fired kadm
	check "$kind: the first person's edit was repaired" test "$(contact_field "$e0" family_name)" = "1 Faultfirst"
	check "$kind: the last person's edit was repaired" test "$(contact_field "$e1" family_name)" = "1 Faultlast"
	aadm POST /_admin/faults '[]' >/dev/null
	kadm POST /_admin/faults '[]' >/dev/null
	w=$(kwrites)
	run_a run
	check "$kind: then nothing is left to write (exit $RC)" test "$RC" = 0 -a "$(kwrites)" = "$w"
	n=$(kadm GET /_admin/state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["contacts"]))')
	check "$kind: one contact per person, no duplicate ($n)" test "$n" = 150
}

one_source greenhouse GET '^/v3/(candidates|applications)$' --limit-per-window 100000
one_source lever GET '^/v1/opportunities$'
one_source ashby POST '\.list$'

# --- a page that fails beyond its retries (Greenhouse, then the Keap listing)
fault_tenant partial greenhouse --limit-per-window 100000 || { t_done; exit 1; }
aadm POST /_admin/canon/generate '{"people": 100, "seed": 22}' >/dev/null
run_a run
check "partial: the setup run (exit $RC)" test "$RC" = 0
run_a run
E0=$(person 0 emails)
E99=$(person 99 emails)
aadm POST /_admin/canon/edit "{\"id\": \"$(person 0 id)\", \"last_name\": \"Partialfirst\"}" >/dev/null
aadm POST /_admin/canon/edit "{\"id\": \"$(person 99 id)\", \"last_name\": \"Partiallast\"}" >/dev/null
E50=$(person 50 emails)
aadm POST /_admin/canon/delete "{\"id\": \"$(person 50 id)\"}" >/dev/null || not_ok "delete a person"
GOOD0=$("$ATSRECON" status --json -c "$CFG" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("last_good_run"))' 2>/dev/null || echo "?")
T3=$(($(date +%s) * 1000))
# every candidate listing request after the second fails, retries included (a
# full sweep lists the applications whole first, then joins each candidate page
# with them: pages 1 and 2 are read and reconciled, the rest not)
aadm POST /_admin/faults '[{"kind": "status", "status": 500, "after": 2, "match": {"method": "GET", "path": "^/v3/candidates$"}}]' >/dev/null
run_a run --full
check "partial: a page unreadable after its retries: exit 5 ($RC)" test "$RC" = 5
check "partial: the log names what was not read" err_has "not read: the greenhouse listing"
check "partial: so does the report's reason" grep -q "not read: the greenhouse listing" "$ST/reports/report.json"
# one of the two edited people is on a page that was read, the other not
# (the listing's order is the fake's)
R0=$(contact_field "$E0" family_name)
R99=$(contact_field "$E99" family_name)
check "partial: what was read was reconciled, the rest not yet ($R0, $R99)" \
	test "$R0" = "1 Partialfirst" -a "$R99" != "1 Partiallast" -o "$R0" != "1 Partialfirst" -a "$R99" = "1 Partiallast"
check "partial: no archive tag applied (delete detection skipped)" bash -c "! python3 '$ADM' '$KU' '$CA' GET /_admin/state | grep -q 'ATS: Archived'"
GOOD1=$("$ATSRECON" status --json -c "$CFG" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("last_good_run"))' 2>/dev/null || echo "?")
check "partial: the last good run stays ($GOOD1)" test "$GOOD0" = "$GOOD1" -a "${GOOD0:0:2}" = 20
aadm POST /_admin/faults '[]' >/dev/null
since=$(aadm GET /_admin/requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[-1]["seq"] + 1 if r else 0)')
run_a run
check "partial: the next (incremental) run completes (exit $RC)" test "$RC" = 0
# its window starts where the failed run's did: before that run, less the 5-minute overlap
aadm GET "/_admin/requests?since=$since" >"$T_TMP/req.json"
python3 - "$T_TMP/req.json" "$T3" <<'PY' && ok "partial: the next listing asks from before the failed run" || not_ok "partial: the next listing asks from before the failed run"
import datetime, json, sys
reqs = json.load(open(sys.argv[1]))["requests"]
# the window is updated_at=gte|FROM|lte|TO
ua = [q.split("|")[1] for r in reqs for k, v in (r.get("query") or {}).items() if k == "updated_at"
      for q in (v if isinstance(v, list) else [v]) if q.startswith("gte|")]
t3 = int(sys.argv[2]) / 1000
ok = bool(ua) and all(datetime.datetime.fromisoformat(u.replace("Z", "+00:00")).timestamp() < t3 - 300 for u in ua)
print("updated_at from %s, the failed run at %s" % (ua[:2], t3), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
check "partial: both are repaired by the next run" test "$(contact_field "$E0" family_name)" = "1 Partialfirst" -a \
	"$(contact_field "$E99" family_name)" = "1 Partiallast"
run_a run --full
check "partial: the next full sweep archives the deleted person (exit $RC)" test "$RC" = 0
check "partial: the archive tag is on the deleted person's contact" bash -c "python3 '$ADM' '$KU' '$CA' GET /_admin/state | grep -q 'ATS: Archived'"
# the Keap listing unreadable beyond its retries: exit 5, the Keap window stays
kadm POST /_admin/faults '[{"kind": "malformed", "after": 1, "match": {"method": "GET", "path": "/v2/contacts$"}}]' >/dev/null
run_a run --full
check "partial Keap: exit 5 ($RC)" test "$RC" = 5
check "partial Keap: the reason names the Keap listing" grep -q "not read: the Keap contact listing" "$ST/reports/report.json"
kadm POST /_admin/faults '[]' >/dev/null
w=$(kwrites)
run_a run --full
check "partial Keap: the next run completes with nothing to write (exit $RC)" test "$RC" = 0 -a "$(kwrites)" = "$w"
: "$E50"
[ -n "${KEEP:-}" ] && cp -r "$T_TMP" /tmp/faults-keep
t_done
