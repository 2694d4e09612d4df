#!/usr/bin/env bash
# Integration: the data-quality report (issue 18) against the Keap and
# Greenhouse fakes. A seeded scenario (one unknown dropdown value, "Meetups",
# on N candidates) must give ONE cause of N in report.json and in the DOM that
# headless Chromium renders; the trend has dates; the page makes no network
# request; printed to PDF (chromium --print-to-pdf, pdftotext) it holds every
# cause. Hostile values (<script>, =HYPERLINK, pipes, control characters) are
# escaped in every format. Then 30 more runs: `report --since 30d` in the four
# formats, and the period report in Chromium too.
. "$(dirname "$0")/../lib.sh"

N=12
start_tenant || { t_done; exit 1; }
ART="$TOP/build/artifacts"
mkdir -p "$ART"
TAG="$(basename "$ATSRECON")-$$"

add() { gadm POST /_admin/add-candidate "$1" >/dev/null || not_ok "seed candidate"; }
for i in $(seq 1 $N); do	# source 12 is "Meetups": not an option of the Keap dropdown
	add "{\"id\": $((200 + i)), \"first_name\": \"Meet$i\", \"last_name\": \"Up\",
	  \"email_addresses\": [{\"value\": \"meet$i@example.com\", \"type\": \"work\"}],
	  \"applications\": [{\"status\": \"in_process\", \"job_id\": 4001, \"stage_name\": \"Offer\", \"source_id\": 12}]}"
done
# hostile values, as a person's name and title
add '{"id": 301, "first_name": "<script>alert(1)</script>", "last_name": "=HYPERLINK(\"http://evil.example/\",\"x\")",
  "title": "a|b|c\u001b[31m\u0007", "email_addresses": [{"value": "hostile@example.com", "type": "work"}],
  "applications": [{"status": "in_process", "job_id": 4001, "stage_name": "Offer", "source_id": 7}]}'
add '{"id": 302, "first_name": "Ok", "last_name": "Fine", "email_addresses": [{"value": "ok@example.com", "type": "work"}],
  "applications": [{"status": "in_process", "job_id": 4001, "stage_name": "Offer", "source_id": 7}]}'
# the hostile person is in Keap already under other names: the repair rows carry the values
kadm POST /_admin/state '{"_merge": true, "contacts": [
  {"id": "9301", "given_name": "Old", "family_name": "Name",
   "email_addresses": [{"email": "hostile@example.com", "field": "EMAIL1"}]}]}' >/dev/null || not_ok "seed Keap"
RT=$(kadm POST /_admin/tokens '{}' --get refresh_token)
expect_rc 0 "bootstrap Keap tokens" "$ATSRECON" auth keap --refresh-token "$RT" -c "$CFG"

expect_rc 1 "first run: the Meetups values need a person (exit 1)" "$ATSRECON" run -c "$CFG" --log-format json
R="$ST/reports"
check "the run's summary on stdout names the cause" bash -c "grep -q 'Needs a person' '$T_TMP/out' && grep -q 'Meetups' '$T_TMP/out'"
check "stdout says plainly that only people are left" grep -q "Everything atsrecon can repair is repaired" "$T_TMP/out"
check "report.json: one cause of $N for Meetups, with the fix and the config change" python3 -c "
import json, sys
j = json.load(open('$R/report.json'))
m = [c for c in j['causes'] if c.get('value') == 'Meetups']
assert len(m) == 1 and m[0]['candidates'] == $N and m[0]['count'] == $N, m
assert m[0]['who'] == 'person' and '\"map\"' in m[0]['change'] and m[0]['recover_pct'] > 0, m
assert j['run']['only_people_left'] is True
assert j['causes'][0]['value'] == 'Meetups'   # the largest first
assert len(j['trend']) >= 1 and 'before_pct' in j['trend'][-1]
"
python3 -c "
import json
j = json.load(open('$R/report.json'))
print('\n'.join(c['title'] for c in j['causes'] if c['who'] == 'person'))" >"$T_TMP/causes.txt"

# --- hostile values, one check per value and format
H="$R/report.html"; M="$R/report.md"; C="$R/drift.csv"; J="$R/report.json"
check "hostile <script>: escaped in HTML" bash -c "! grep -q '<script>' '$H' && grep -q '&lt;script&gt;alert(1)' '$H'"
check "hostile <script>: escaped in Markdown" bash -c "! grep -q '<script>' '$M'"
check "hostile <script>: a plain string in JSON" python3 -c "
import json; j = json.load(open('$J'))
assert any(d.get('desired') == '<script>alert(1)</script>' for d in j['drift'])"
check "hostile =HYPERLINK: defused in CSV" bash -c "grep -q '\"'\"'\"'=HYPERLINK' '$C' && ! grep -q '^\"=HYPERLINK\\|,\"=HYPERLINK' '$C'"
check "hostile =HYPERLINK: text in HTML" bash -c "grep -q '=HYPERLINK(&quot;http://evil.example/&quot;' '$H'"
check "hostile pipes: escaped in Markdown tables" bash -c "! grep -q 'a|b|c' '$M' || ! grep -q '^|.*a|b|c' '$M'"
check "hostile control characters: none in HTML, Markdown, CSV" python3 -c "
import sys
for f in ['$H', '$M', '$C']:
    b = open(f, 'rb').read()
    assert b'\x1b' not in b and b'\x07' not in b, f"
check "hostile control characters: escaped in JSON" bash -c "! grep -q \$'\\x1b' '$J' && grep -q 'u001b' '$J'"

# --- in a real browser: causes, dated trend, no network, screenshot, PDF
check "report.html in headless Chromium: one cause of $N, dates, no network, screenshot, PDF with every cause" \
	python3 "$TOP/tests/report_check.py" "$H" "$ART/report-run-$TAG.png" --min-rows 1 --cause-count $N \
	--pdf "$ART/report-run-$TAG.pdf" --pdf-text "$T_TMP/causes.txt"

# --- a month of runs: report --since 30d over >= 30 recorded runs
for i in $(seq 1 30); do
	run "$ATSRECON" run -c "$CFG" --log-format json -q
	[ "$RC" = 1 ] || { not_ok "run $i: exit $RC"; break; }
done
check "31 runs recorded" true
for f in json md csv html; do
	expect_rc 0 "report --since 30d --format $f" "$ATSRECON" report -c "$CFG" --since 30d --format "$f" -o "$T_TMP/period.$f"
done
check "period JSON: 31 runs, start and end accuracy, the open cause" python3 -c "
import json
j = json.load(open('$T_TMP/period.json'))
assert j['period']['runs'] == 31, j['period']
assert j['accuracy']['start_pct'] is not None and j['accuracy']['end_pct'] >= j['accuracy']['start_pct']
m = [c for c in j['causes'] if c.get('value') == 'Meetups']
assert len(m) == 1 and m[0]['open'] and m[0]['candidates'] == $N and m[0]['runs'] == 31, m
assert len(j['weeks']) == 5 and sum(w['runs'] for w in j['weeks']) == 31
"
check "period CSV: one row per run" bash -c "[ \$(wc -l <'$T_TMP/period.csv') = 32 ]"
check "period Markdown: what still needs a person" bash -c "grep -q 'Still needs a person' '$T_TMP/period.md' && grep -q Meetups '$T_TMP/period.md'"
check "period report on stdout (no -o)" bash -c "'$ATSRECON' report -c '$CFG' --from 2020-01-01 --format md 2>/dev/null | grep -q 'data-quality audit, 2020-01-01'"
expect_rc 2 "a bad --from is a usage error" "$ATSRECON" report -c "$CFG" --from 2026-02-30x
grep -h -o 'Meetups[^<]*' "$T_TMP/period.html" | head -1 >"$T_TMP/pcauses.txt"
check "the period report in headless Chromium: causes, dates, no network, screenshot, PDF" \
	python3 "$TOP/tests/report_check.py" "$T_TMP/period.html" "$ART/report-period-$TAG.png" --period \
	--cause-count $N --pdf "$ART/report-period-$TAG.pdf" --pdf-text "$T_TMP/causes.txt"
cp "$H" "$ART/report-run-$TAG.html"
cp "$T_TMP/period.html" "$ART/report-period-$TAG.html"

t_done
