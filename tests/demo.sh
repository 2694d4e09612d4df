#!/usr/bin/env bash
# tests/demo.sh — `./build.sh demo [--ats greenhouse|lever|ashby|file]`: a full
# reconcile against the built-in fakes.
#
# Starts the Keap fake and the ATS's fake (Greenhouse by default; the export
# file needs none) (local HTTPS, throwaway CA), seeds about 500 candidates and
# the Keap an earlier integration (a Zapier scenario running for a year) left
# behind (tests/fakes/seed_brownfield.py: the ATS's own ids in "ATS Candidate
# ID", phones typed by people, MM/DD/YYYY dates, whole-second times, email case,
# two stage tags, Keap-owned lists and fields, marketing contacts, then ATS
# deletes, anonymisations, merges, email changes, missing contacts and some real
# drift), runs `atsrecon run`,
# then a day of changes on both sides (Keap edits, ATS edits, stage moves, a
# delete, an anonymisation) and a full sweep, prints each Markdown summary and
# the path of report.html, runs once more to show zero writes, and stops the fakes.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
ATS=greenhouse
while [ $# -gt 0 ]; do
	case "$1" in
	--ats) ATS=${2:-}; shift 2 ;;
	--ats=*) ATS=${1#--ats=}; shift ;;
	*) echo "usage: ./build.sh demo [--ats greenhouse|lever|ashby|file]" >&2; exit 2 ;;
	esac
done
case "$ATS" in greenhouse | lever | ashby | file) ;; *) echo "demo: unknown ATS \"$ATS\"" >&2; exit 2 ;; esac
BIN=$TOP/atsrecon
D=${ATSRECON_DEMO_DIR:-$(mktemp -d /tmp/atsrecon-demo-XXXXXX)}
unset ATSRECON_DEMO_DIR	# not an option of the binary
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done' EXIT

fake() {
	python3 "$TOP/tests/fakes/$1.py" --certdir "$D/ca" --port-file "$D/$1.port" --idle-timeout 300 "${@:2}" \
		>"$D/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 200); do [ -s "$D/$1.port" ] && break; sleep 0.05; done
	[ -s "$D/$1.port" ] || { echo "demo: the $1 fake did not start (see $D/$1.log)" >&2; exit 1; }
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
writes() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$D/ca/ca.pem" GET /_admin/stats --get writes; }

fake keap
KU="https://localhost:$(cat "$D/keap.port")"
GU=""
case "$ATS" in
greenhouse) fake greenhouse --limit-per-window 100000 ;;
lever | ashby) fake "$ATS" ;;
esac
[ "$ATS" != file ] && GU="https://localhost:$(cat "$D/$ATS.port")"
EXPORT="$D/export.csv"
# the demo tenant: the APIs are local fakes (the tests' tenant, plus the fields the
# earlier integration created)
BROWN=(python3 "$TOP/tests/fakes/seed_brownfield.py" --ats "$ATS" --ats-url "$GU" --keap-url "$KU"
	--ca "$D/ca/ca.pem" --file "$EXPORT" -m "$D/manifest.json")
"${BROWN[@]}" config --state "$D/state" --set keap.max_rps=25 --set ats.max_rps=50 \
	>"$D/atsrecon.jsonc" || exit 1
SEED=(python3 "$TOP/tests/fakes/seed_demo.py" "$GU" "$KU" "$D/ca/ca.pem" --ats "$ATS" --file "$EXPORT")
say "seeding the world ($ATS): the ATS and the Keap an earlier integration left"
"${BROWN[@]}" seed --candidates 500 || exit 1
RT=$(python3 "$TOP/tests/fakes/admin.py" "$KU" "$D/ca/ca.pem" POST /_admin/tokens '{}' --get refresh_token)
printf "%s\n" "$RT" | "$BIN" auth keap --refresh-token-file - -c "$D/atsrecon.jsonc" --log-format text -q || exit 1

say "first run: link, create and repair"
"$BIN" run -c "$D/atsrecon.jsonc" --log-format text --log-level warn
echo "(exit $?)"

say "a day later: changes on both sides"
"${SEED[@]}" --activity || exit 1
"$BIN" run -c "$D/atsrecon.jsonc" --full --log-format text --log-level warn
echo "(exit $?)"

say "and again: nothing left to write"
w=$(writes)
"$BIN" run -c "$D/atsrecon.jsonc" --log-format text --log-level warn >/dev/null
rc=$?
echo "Keap writes before: $w, after: $(writes) (exit $rc)"

say "the report: what needs a person"
python3 - "$D/state/reports/report.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
acc = j["accuracy"]
print("Accuracy %.1f %% after the last run." % acc["after_pct"])
if j["run"].get("only_people_left"):
    print("Everything atsrecon can repair is repaired; what is left needs a person:")
causes = [c for c in j.get("causes", []) if c["who"] == "person"]
for i, c in enumerate(causes[:5], 1):
    gain = " (+%.1f accuracy points)" % c["recover_pct"] if c["recover_pct"] > 0 else ""
    print("  %d. %s: %d candidate%s%s" % (i, c["title"], c["candidates"],
          "" if c["candidates"] == 1 else "s", gain))
    print("     fix: %s" % c["fix"])
    if c["change"]:
        print("     change: %s" % c["change"])
if not causes:
    print("Nothing needs a person.")
PY
echo
echo "HTML report (open it, or print it to PDF): $D/state/reports/report.html"
echo "JSON: $D/state/reports/report.json   CSV: $D/state/reports/drift.csv"
echo "The month so far: $BIN report -c $D/atsrecon.jsonc --since 30d --format html -o audit.html"
echo "(the demo directory $D is kept; the fakes stop now)"
exit 0
