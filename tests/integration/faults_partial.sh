#!/usr/bin/env bash
# Integration: a listing page unreadable beyond its retries, end to end, on
# Lever and Ashby (issue 16; tests/integration/faults.sh has every fault kind
# repaired in one run on every source, and this case for Greenhouse and Keap),
# the export file's unreadable rows, and a Keap token refresh whose answer is
# lost.
#
# Per API source: every person edited and one deleted, then a full run whose
# listing fails for good after a few pages: exit 5 naming the listing, what was
# read repaired and the rest not, no archive tag, the last good run kept; the
# next run reads from where the failed one started (Lever: its updated_at
# window; Ashby: the sync tokens kept from before, as the fake records which
# token each incremental listing used) and repairs everything; the next full
# sweep archives the deleted person.
. "$(dirname "$0")/../lib.sh"

ADM="$TOP/tests/fakes/admin.py"
good_run() {
	"$ATSRECON" status --json -c "$CFG" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("last_good_run"))' 2>/dev/null || echo "?"
}
archived() { kadm GET /_admin/state | grep -q 'ATS: Archived'; }

# H: helpers over both fakes' admin APIs, in one process each
cat >"$T_TMP/h.py" <<'PY'
import json, ssl, sys, urllib.request

def adm(base, ca, method, path, body=None):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return json.loads(r.read() or b"null")

cmd, ca, ku, au = sys.argv[1:5]
if cmd == "edit-all":		# every person's last name becomes Part<n>
    for i, p in enumerate(adm(au, ca, "GET", "/_admin/canon/people")["people"]):
        adm(au, ca, "POST", "/_admin/canon/edit", {"id": p["id"], "last_name": "Part%d" % i})
elif cmd == "repaired":		# how many people's Keap contact has their new last name
    people = adm(au, ca, "GET", "/_admin/canon/people")["people"]
    by_email = {}
    for c in adm(ku, ca, "GET", "/_admin/state")["contacts"]:
        for e in c.get("email_addresses") or []:
            by_email.setdefault(e.get("email", "").strip().lower(), []).append(c)
    n = 0
    for p in people:
        cs = by_email.get(p["emails"][0].strip().lower(), [])
        n += len(cs) == 1 and cs[0].get("family_name") == p["last_name"]
    print("%d %d" % (n, len(people)))
PY
H() { python3 "$T_TMP/h.py" "$1" "$CA" "$KU" "$AU"; }

# partial KIND METHOD LISTING_PATH AFTER [TIMES]: see the top; the listing's
# requests after the first AFTER fail (only TIMES of them, when given)
partial() {
	local kind=$1 method=$2 lpath=$3 after=$4 times=${5:-} good0 good1 rep n t3 since s0
	fault_tenant "$kind" "$kind" || return 1
	aadm POST /_admin/canon/generate '{"people": 100, "seed": 23}' >/dev/null || not_ok "$kind: seed people"
	run_a run
	check "$kind: the setup run (exit $RC)" test "$RC" = 0
	run_a run
	check "$kind: an incremental run (exit $RC)" test "$RC" = 0
	H edit-all || not_ok "$kind: edit every person"
	aadm POST /_admin/canon/delete "{\"id\": \"$(aadm GET /_admin/canon/people --get people.50.id)\"}" >/dev/null ||
		not_ok "$kind: delete a person"
	good0=$(good_run)
	t3=$(($(date +%s) * 1000))
	[ "$kind" = ashby ] && s0=$(aadm GET /_admin/summary --get seq)
	# every listing request after the first few fails, retries included
	aadm POST /_admin/faults "[{\"kind\": \"status\", \"status\": 500, \"after\": $after,${times:+ \"times\": $times,} \"match\": {\"method\": \"$method\", \"path\": \"$lpath\"}}]" >/dev/null
	run_a run --full
	check "$kind: a page unreadable after its retries: exit 5 ($RC)" test "$RC" = 5
	check "$kind: the log names what was not read" err_has "not read: the $kind listing (a page after page"
	check "$kind: so does the report's reason" grep -q "not read: the $kind listing" "$ST/reports/report.json"
	rep=$(H repaired)
	n=${rep% *}
	check "$kind: the pages read were reconciled, the rest not yet ($rep)" test "$n" -gt 0 -a "$n" -lt 99
	check "$kind: no archive tag applied (delete detection skipped)" bash -c "! python3 '$ADM' '$KU' '$CA' GET /_admin/state | grep -q 'ATS: Archived'"
	good1=$(good_run)
	check "$kind: the last good run stays ($good1)" test "$good0" = "$good1" -a "${good0:0:2}" = 20

	if [ "$kind" = ashby ]; then
		# an incremental run failing the same way: the sync tokens stay too
		aadm POST /_admin/faults "[{\"kind\": \"status\", \"status\": 500, \"match\": {\"method\": \"POST\", \"path\": \"^/candidate[.]list$\"}}]" >/dev/null
		run_a run
		check "$kind: an incremental run whose candidate delta fails: exit 5 ($RC)" test "$RC" = 5
		check "$kind: it names the Ashby listing" err_has "not read: the ashby listing"
	fi
	aadm POST /_admin/faults '[]' >/dev/null
	aadm POST /_admin/stats/reset '{}' >/dev/null
	since=$(aadm GET /_admin/requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[-1]["seq"] + 1 if r else 0)')
	run_a run
	check "$kind: the next (incremental) run completes (exit $RC)" test "$RC" = 0
	if [ "$kind" = lever ]; then
		# its window starts where the failed run's did: before that run, less the 5-minute overlap
		aadm GET "/_admin/requests?since=$since" >"$T_TMP/req.json"
		python3 - "$T_TMP/req.json" "$t3" <<'PY' && ok "$kind: the next listing asks from before the failed run" || not_ok "$kind: the next listing asks from before the failed run"
import json, sys
reqs = json.load(open(sys.argv[1]))["requests"]
ua = [int(q) for r in reqs if r["path"] == "/v1/opportunities"
      for q in (r.get("query") or {}).get("updated_at_start", [])]
t3 = int(sys.argv[2])
print("updated_at_start %s, the failed run at %s" % (ua[:2], t3), file=sys.stderr)
sys.exit(0 if ua and all(u < t3 - 300000 for u in ua) else 1)
PY
	else
		aadm GET /_admin/stats >"$T_TMP/stats.json"
		python3 - "$T_TMP/stats.json" "$s0" <<'PY' && ok "$kind: the next run lists the changes since the tokens kept from before the failed runs" || not_ok "$kind: the next run lists the changes since the tokens kept from before the failed runs"
import json, sys
st = json.load(open(sys.argv[1]))
s0 = int(sys.argv[2])
d = st.get("delta_since") or {}
print("delta listings %s, since %s; the change counter before the failed runs %d"
      % (st.get("delta_listings"), d, s0), file=sys.stderr)
sys.exit(0 if st.get("delta_listings") == 2 and
         set(d) == {"candidate", "application"} and all(v < s0 for v in d.values()) else 1)
PY
	fi
	rep=$(H repaired)
	check "$kind: everyone is repaired by the next run ($rep)" test "${rep% *}" = "${rep#* }"
	run_a run --full
	check "$kind: the next full sweep completes (exit $RC)" test "$RC" = 0
	check "$kind: the archive tag is on the deleted person's contact" archived
	w=$(kwrites)
	run_a run --full
	check "$kind: then nothing is left to write (exit $RC)" test "$RC" = 0 -a "$(kwrites)" = "$w"
}

# Lever: a full sweep lists every opportunity (expanded) first; when a page
# fails, the people of the opportunities already listed are read by contact id
# (queries on the same path). Page 4 fails on each of its 4 attempts (1 + the
# tests' 3 retries), the contact-id reads after it answer: those people are
# reconciled, the rest not yet
partial lever GET '^/v1/opportunities$' 3 4
# Ashby: application.list whole, then candidate.list fails after page 2
partial ashby POST '^/candidate[.]list$' 2

# --- the export file: rows that cannot be read (the file's "pages"). A row
# with the wrong number of fields, and the last row cut short (a writer caught
# mid-write): the run reads the rest and repairs it, names each row as
# file:line, exits 1, and treats nobody as deleted; the file made whole, the
# next run repairs the rest and archives the person who left.
cat >"$T_TMP/csvw.py" <<'PY'
import csv, io, sys
path, variant = sys.argv[1], sys.argv[2]
hdr = ["Applicant ID", "First Name", "Last Name", "Email", "Other Email", "Phone", "Title",
       "Company", "Stage", "Status", "Job", "Source", "Date Applied", "Updated", "Anonymized"]
out = io.StringIO()
w = csv.writer(out, lineterminator="\r\n")
w.writerow(hdr)
for i in range(60):
    pid = 1001 + i
    if variant != "clean" and pid == 1030:
        continue			# left the ATS
    last = "Export%d" % i if variant == "clean" else "Part%d" % i
    row = [pid, "Ana", last, "person.%d@example.com" % pid, "", "(415) 555-%04d" % pid,
           "Engineer", "Acme", "Application Review", "active", "DevOps Engineer", "Indeed",
           "2026-11-02", "", "no"]
    if variant == "broken" and pid == 1010:
        row = row[:5]			# 5 fields where the header has 15
    w.writerow(row)
data = out.getvalue()
if variant == "broken":			# the last row cut short
    data = data[:data.rindex("person.1060@") + 4]
open(path + ".tmp", "w", newline="", encoding="utf-8").write(data)
import os
os.replace(path + ".tmp", path)
PY
# file_repaired: how many of the 60 people's contacts carry Part<n>
file_repaired() {
	kadm GET /_admin/state | python3 -c '
import json, sys
n = 0
for c in json.load(sys.stdin)["contacts"]:
    if (c.get("family_name") or "").startswith("Part"):
        n += 1
print(n)'
}
start_fake keap || { t_done; exit 1; }
KU=$FAKE_URL
ST="$T_TMP/state-file"
CFG="$T_TMP/file.jsonc"
EXPORT="$T_TMP/people.csv"
python3 "$T_TMP/csvw.py" "$EXPORT" clean
fields=$(python3 -c 'import json, sys; sys.path.insert(0, sys.argv[1]); import tenant
print(json.dumps([f for f in tenant.FIELDS if f["from"] != "source"]))' "$TOP/tests/fakes")
python3 "$TOP/tests/fakes/tenant.py" --set "fields=$fields" --ats file --file "$EXPORT" --keap-url "$KU" --ca "$CA" \
	--state "$ST" --set 'guards={"max_creates": 1000, "max_change_percent": 100, "max_archives": 100}' \
	--set keap.page_size=25 --set keap.max_rps=100 >"$CFG" || not_ok "file: tenant config"
kadm POST /_admin/tokens '{}' --get refresh_token >"$T_TMP/rt-file"
expect_rc 0 "file: bootstrap Keap tokens" "$ATSRECON" auth keap --refresh-token-file "$T_TMP/rt-file" -c "$CFG"
run_a run
check "file: the setup run (exit $RC)" test "$RC" = 0
python3 "$T_TMP/csvw.py" "$EXPORT" broken
run_a run
check "file: rows that cannot be read: exit 1 ($RC)" test "$RC" = 1
check "file: the row with too few fields is named by file:line" err_has "people.csv:11: 5 fields where the header has 15; row skipped"
check "file: so is the row cut short" err_has "people.csv:60: "
check "file: nobody is treated as deleted" err_has "nobody is treated as deleted this run"
check "file: the rows read were repaired ($(file_repaired))" test "$(file_repaired)" = 57
check "file: no archive tag applied" bash -c "! python3 '$ADM' '$KU' '$CA' GET /_admin/state | grep -q 'ATS: Archived'"
python3 "$T_TMP/csvw.py" "$EXPORT" whole
run_a run
check "file: the file made whole, the next run completes (exit $RC)" test "$RC" = 0
check "file: every row is repaired ($(file_repaired))" test "$(file_repaired)" = 59
check "file: the person who left is archived" archived

# --- a Keap token refresh whose answer is lost (research/keap-api.md §6.1:
# refresh tokens are single use and rotate). Not processed (a reset before
# the token endpoint saw it): asked again with the same token, the run
# completes. Processed, the answer lost: the retry is refused (invalid_grant),
# exit 4 saying so, with the fix.
kadm POST /_admin/expire-access-tokens '{}' >/dev/null
kadm POST /_admin/faults '[{"kind": "reset", "times": 1, "match": {"path": "^/token$"}}]' >/dev/null
r0=$(kadm GET /_admin/stats --get refreshes)
run_a run
check "refresh: an answer lost before Keap saw the request: the run completes (exit $RC)" test "$RC" = 0
check "refresh: it was asked again with the same token" err_has "the answer was lost; asking again with the same refresh token"
check "refresh: one refresh in the fake" test "$(kadm GET /_admin/stats --get refreshes)" = $((r0 + 1))
kadm POST /_admin/expire-access-tokens '{}' >/dev/null
kadm POST /_admin/faults '[{"kind": "reset", "process": true, "times": 1, "match": {"path": "^/token$"}}]' >/dev/null
run_a run
check "refresh: the answer lost after Keap rotated the token: exit 4 ($RC)" test "$RC" = 4
check "refresh: the log says the answer was lost and the token rotated" err_has "the answer to an earlier attempt was lost"
check "refresh: ... and what to run" err_has "run \`atsrecon auth keap --login\` (or \`atsrecon auth keap --refresh-token-file FILE\`)"
kadm POST /_admin/faults '[]' >/dev/null
kadm POST /_admin/tokens '{}' --get refresh_token >"$T_TMP/rt-file"
expect_rc 0 "refresh: authorised again" "$ATSRECON" auth keap --refresh-token-file "$T_TMP/rt-file" -c "$CFG"
run_a run
check "refresh: then the run completes (exit $RC)" test "$RC" = 0
kadm POST /_admin/expire-access-tokens '{}' >/dev/null
kadm POST /_admin/faults '[{"kind": "reset", "match": {"path": "^/token$"}}]' >/dev/null
run_a run
check "refresh: every answer lost: exit 5, not 4 ($RC)" test "$RC" = 5
n=$(kadm GET /_admin/faults | python3 -c 'import json,sys; print(json.load(sys.stdin)["rules"][0]["fired"])')
check "refresh: bounded: 4 attempts ($n)" test "$n" = 4
kadm POST /_admin/faults '[]' >/dev/null
run_a run
check "refresh: the token kept works on the next run (exit $RC)" test "$RC" = 0

t_done
