#!/usr/bin/env bash
# Integration: `atsrecon doctor`, the read-only preflight, against the Keap and
# Greenhouse fakes. A healthy tenant passes every check (exit 0, text and
# --json); then each failure mode is provoked through the fakes' admin
# endpoints or the configuration and must show as its own line with its fix
# and the right exit status: the state directory (not creatable, NFS/CIFS/FUSE/
# tmpfs through the test-only ATSRECON_TEST_FSTYPE, locked), the clock (the
# fakes' clock moved), TLS (unknown host, closed port, untrusted certificate),
# Keap (no tokens, expired access token refreshed without burning the
# rotation, revoked grant, wrong client secret, missing permissions, a removed
# custom field, a dropdown value that is not an option, no external-id field,
# missing stage tags, quota), Greenhouse (wrong secret), the mapping and the
# export-file source. No output may contain a secret.
. "$(dirname "$0")/../lib.sh"

# The fakes answer with a Date header from the real clock, not from their
# shiftable one (common.py); the clock check needs the latter, so the fakes
# run through this launcher, which makes the header follow the fake's clock.
LAUNCH="$T_TMP/dated_fake.py"
cat >"$LAUNCH" <<'EOF'
import os, runpy, sys
script = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
import common
_orig = common._Handler.date_time_string
def _date(self, timestamp=None):
    if timestamp is None and hasattr(self.server, "now_ms"):
        timestamp = self.server.now_ms() / 1000
    return _orig(self, timestamp)
common._Handler.date_time_string = _date
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
EOF
start_dated() {	# as start_fake, through the launcher
	local name=$1 pf
	shift
	pf="$T_TMP/$name.$RANDOM.port"
	python3 "$LAUNCH" "$TOP/tests/fakes/$name.py" --certdir "$T_TMP/ca" --port-file "$pf" \
		--idle-timeout 120 --max-lifetime 900 "$@" >>"$T_TMP/fake-$name.log" 2>&1 &
	FAKE_PID=$!
	T_PIDS+=("$FAKE_PID")
	for _ in $(seq 1 200); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		not_ok "fake $name did not start"
		sed 's/^/    /' "$T_TMP/fake-$name.log" | tail -20
		return 1
	fi
	FAKE_URL="https://localhost:$(cat "$pf")"
	CA="$T_TMP/ca/ca.pem"
}

start_dated keap || { t_done; exit 1; }
KU=$FAKE_URL
start_dated greenhouse --limit-per-window 100000 || { t_done; exit 1; }
GU=$FAKE_URL
ADM="$TOP/tests/fakes/admin.py"
kadm() { python3 "$ADM" "$KU" "$CA" "$@"; }
gadm() { python3 "$ADM" "$GU" "$CA" "$@"; }

# The state directories live under T_TMP; if that is a tmpfs the state.dir
# check rightly warns, so the healthy cases pin a local type there.
case "$(stat -f -c %t "$T_TMP")" in
1021994 | 858458f6) export ATSRECON_TEST_FSTYPE=0xEF53 ;;
esac

# mkcfg NAME [--set section.key=JSON ...]: a tenant config with its own state dir.
mkcfg() {
	local name=$1
	shift
	python3 "$TOP/tests/fakes/tenant.py" --ats greenhouse --ats-url "$GU" --keap-url "$KU" \
		--ca "$CA" --state "$T_TMP/$name/state" "$@" >"$T_TMP/$name.jsonc" || not_ok "tenant config $name"
	echo "$T_TMP/$name.jsonc"
}
bootstrap() {	# stores a fresh refresh token in the config's state
	local rt
	rt=$(kadm POST /_admin/tokens '{}' --get refresh_token)
	"$ATSRECON" auth keap --refresh-token "$rt" -c "$1" >/dev/null 2>&1 || not_ok "bootstrap tokens"
}
doc() { run "$ATSRECON" doctor -c "$@" --log-format json; }
# line STATUS CHECK [TEXT]: the output has that check with that status (and text)
line() {
	local l
	l=$(grep -E "^$1 +$2 " "$T_TMP/out") || return 1
	[ $# -lt 3 ] || printf '%s\n' "$l" | grep -q -F -- "$3"
}
show() { sed 's/^/    | /' "$T_TMP/out"; sed 's/^/    ! /' "$T_TMP/err" | head -5; }
expect() {	# expect RC DESC STATUS CHECK [TEXT]: the last doc run
	local want=$1 desc=$2
	shift 2
	if [ "$RC" = "$want" ] && line "$@"; then
		ok "$desc (exit $RC)"
	else
		not_ok "$desc: exit $RC (want $want), want a line \"$*\""
		show
	fi
}
summary() { grep -E '^doctor: ' "$T_TMP/out"; }

STAGES='{"_merge": true, "tag_categories": [{"id": 11, "name": "ATS Stage"}], "tags": [
 {"id": 101, "name": "ATS Stage: Hired", "category": {"id": 11}},
 {"id": 102, "name": "ATS Stage: Rejected", "category": {"id": 11}},
 {"id": 103, "name": "ATS Stage: Review", "category": {"id": 11}},
 {"id": 104, "name": "ATS Stage: Screen", "category": {"id": 11}},
 {"id": 105, "name": "ATS Stage: Test", "category": {"id": 11}},
 {"id": 106, "name": "ATS Stage: Onsite", "category": {"id": 11}},
 {"id": 107, "name": "ATS Stage: Offer", "category": {"id": 11}},
 {"id": 108, "name": "ATS: Archived"}, {"id": 109, "name": "ATS: GDPR Erased"},
 {"id": 110, "name": "ATS: Possible Duplicate"}]}'
MODEL=$(kadm GET /_admin/state --get model)
model_without() {	# a model JSON: field $1 dropped, or option $2 of field $1 dropped
	echo "$MODEL" | python3 -c '
import json, sys
m = json.load(sys.stdin)
if len(sys.argv) == 2:
    m["custom_fields"] = [f for f in m["custom_fields"] if f["label"] != sys.argv[1]]
else:
    for f in m["custom_fields"]:
        if f["label"] == sys.argv[1]:
            f["options"] = [o for o in f["options"] if o["label"] != sys.argv[2]]
print(json.dumps({"_merge": True, "model": m}))' "$@"
}
with_state() {	# copies the healthy tenant's state (tokens included) for config NAME
	if ! mkdir -p "$T_TMP/$1" || ! cp -r "$ST" "$T_TMP/$1/"; then not_ok "copy the state for $1"; fi
}
set_model() { kadm POST /_admin/state "$1" >/dev/null || not_ok "set the Keap model"; }

# --- a new tenant: nothing in Keap yet, tokens stored
CFG=$(mkcfg healthy)
ST="$T_TMP/healthy/state"
gadm POST /_admin/canon/generate '{"people": 4, "seed": 7}' >/dev/null || not_ok "seed Greenhouse"
bootstrap "$CFG"
doc "$CFG"
expect 0 "a new tenant passes; missing stage tags only warn" warn keap.stage_tags \
	"will be created on the first run"
check "  ... and missing lifecycle tags too" line warn keap.lifecycle_tags "created when first needed"
check "  ... the due refresh was done and committed" line ok keap.credentials "the new pair is stored"
check "  ... the client credentials are proved without a refresh" line ok keap.client "nothing was refreshed"

# --- a healthy tenant: the tags exist, a run has happened
kadm POST /_admin/state "$STAGES" >/dev/null || not_ok "seed Keap tags"
run "$ATSRECON" run -c "$CFG" --log-format json
check "a first run works (exit $RC)" test "$RC" = 0 -o "$RC" = 1
refreshes=$(kadm GET /_admin/stats --get refreshes)
doc "$CFG"
if [ "$RC" = 0 ] && ! grep -q -E '^(warn|fail|skip) ' "$T_TMP/out" && line ok config && \
	line ok state.dir && line ok state && line ok tls.keap && line ok clock && \
	line ok keap.fields && line ok ats.read; then
	ok "a healthy tenant: exit 0, every check ok ($(summary))"
else
	not_ok "a healthy tenant: exit $RC"
	show
fi
check "  ... TLS version reported" line ok tls.keap "TLSv1."
check "  ... certificate verified" line ok tls.ats "certificate verified"
check "  ... the refresh token's age and days left" line ok keap.credentials "days left of Keap's 45 days"
check "  ... the quota estimate counts the last run's writes" line ok keap.quota "writes as in the last run"
check "  ... the ATS read fetched a candidate by id" line ok ats.read "read that candidate by id"
check "  ... the state summary names the last good run" line ok state "last good run"
check "  ... no refresh when none is due (the rotation is not spent)" \
	test "$(kadm GET /_admin/stats --get refreshes)" = "$refreshes"
run "$ATSRECON" doctor -c "$CFG" --json
if [ "$RC" = 0 ] && python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) >= 15
for e in a:
    assert set(e) == {"check", "status", "detail", "fix"}, e
    assert e["status"] == "ok" and e["fix"] is None, e
' "$T_TMP/out"; then
	ok "--json: an array of {check, status, detail, fix}, all ok"
else
	not_ok "--json: exit $RC"
	show
fi

# --- the state directory
: >"$T_TMP/afile"
BAD=$(mkcfg notdir --set 'state.dir="'"$T_TMP"'/afile/state"')
doc "$BAD"
expect 9 "a state dir that cannot be created fails (state)" fail state.dir "cannot be created"
check "  ... its fix names the key" line fail state.dir "fix: set state.dir"
check "  ... the OAuth check is skipped, not failed" line skip keap.credentials
ATSRECON_TEST_FSTYPE=0x6969 doc "$CFG"
expect 9 "a state dir on NFS fails" fail state.dir "on NFS"
ATSRECON_TEST_FSTYPE=0xFF534D42 doc "$CFG"
expect 0 "a state dir on CIFS warns" warn state.dir "network file system (CIFS)"
ATSRECON_TEST_FSTYPE=0xFE534D42 doc "$CFG"
expect 0 "a state dir on SMB2 warns" warn state.dir "network file system (SMB2)"
ATSRECON_TEST_FSTYPE=0x65735546 doc "$CFG"
expect 0 "a state dir on FUSE warns" warn state.dir "FUSE"
ATSRECON_TEST_FSTYPE=0x01021994 doc "$CFG"
expect 0 "a state dir on tmpfs warns (the refresh token dies at reboot)" warn state.dir "lost at reboot"
run flock -n "$ST/lock" "$ATSRECON" doctor -c "$CFG" --log-format json
expect 75 "a state locked by a run fails (locked)" fail state "holds the lock"
check "  ... and the Keap checks wait for it" line skip keap.credentials "locked"
NEW=$(mkcfg fresh)
doc "$NEW"
expect 4 "no Keap tokens: authorise first" fail keap.credentials "no state with Keap tokens"
check "  ... the fix is the command" line fail keap.credentials "fix: atsrecon auth keap --login"
check "  ... and doctor created no state" test ! -e "$T_TMP/fresh/state"
check "  ... the missing state itself is fine" line ok state "no state in"

# --- the clock (the fakes' clocks move; the local one stays)
kadm POST /_admin/clock '{"offset_s": 120}' >/dev/null
doc "$CFG"
expect 0 "a clock 2 min off warns" warn clock "behind"
kadm POST /_admin/clock '{"offset_s": 0}' >/dev/null
kadm POST /_admin/reset-counters '{}' >/dev/null	# windows stamped in the fake's future
gadm POST /_admin/clock '{"offset_s": -400}' >/dev/null
doc "$CFG"
expect 3 "a clock more than 5 min off fails" fail clock "ahead of"
check "  ... the fix is NTP" line fail clock "fix: synchronise the clock"
gadm POST /_admin/clock '{"offset_s": 0}' >/dev/null
gadm POST /_admin/reset-counters '{}' >/dev/null

# --- reachability and TLS
BAD=$(mkcfg gh_host --set 'ats.base_url="https://no-such-host.invalid/v3"' \
	--set 'ats.auth_url="https://no-such-host.invalid"')
with_state gh_host
doc "$BAD"
expect 5 "an unknown ATS host is unreachable" fail tls.ats "does not resolve"
check "  ... the fix names the key" line fail tls.ats "fix: check the host name in ats.base_url"
check "  ... and the ATS checks are skipped" line skip ats.read "unreachable"
BAD=$(mkcfg keap_host --set 'keap.base_url="https://no-such-host.invalid/crm/rest"')
with_state keap_host
doc "$BAD"
expect 5 "an unknown Keap host is unreachable" fail tls.keap "does not resolve"
check "  ... and the Keap API checks are skipped" line skip keap.contacts "unreachable"
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BAD=$(mkcfg keap_port --set "keap.base_url=\"https://localhost:$CLOSED/crm/rest\"")
doc "$BAD"
expect 5 "a closed port: TCP connect fails" fail tls.keap "TCP connect failed"
mkdir -p "$T_TMP/otherca"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/otherca/k.pem" -out "$T_TMP/otherca/ca.pem" \
	-days 2 -subj /CN=other-ca >/dev/null 2>&1 || not_ok "openssl"
BAD=$(mkcfg otherca --set "http.ca_file=\"$T_TMP/otherca/ca.pem\"")
doc "$BAD"
expect 5 "an untrusted certificate fails TLS" fail tls.keap "certificate verification failed"
check "  ... the fix is http.ca_file" line fail tls.keap "http.ca_file"

# --- Keap credentials
refreshes=$(kadm GET /_admin/stats --get refreshes)
kadm POST /_admin/expire-access-tokens '{}' >/dev/null
doc "$CFG"
expect 0 "an access token Keap refuses is refreshed like a run does" ok keap.credentials \
	"Keap refused the stored access token"
check "  ... exactly one refresh" test "$(kadm GET /_admin/stats --get refreshes)" = $((refreshes + 1))
doc "$CFG"
expect 0 "  ... the rotated pair was committed (doctor again: ok)" ok keap.contacts
run "$ATSRECON" run -c "$CFG" --log-format json
check "  ... and a run still authenticates (exit $RC)" test "$RC" = 0 -o "$RC" = 1

kadm GET /_admin/tokens | python3 -c '
import json, sys
for t in json.load(sys.stdin)["refresh_tokens"]:
    if t["state"] == "active":
        print(t["token"])' >"$T_TMP/active"
while read -r t; do kadm POST /_admin/revoke "{\"token\": \"$t\"}" >/dev/null; done <"$T_TMP/active"
kadm POST /_admin/expire-access-tokens '{}' >/dev/null
doc "$CFG"
expect 4 "a revoked grant: a person must authorise again" fail keap.credentials "invalid_grant"
check "  ... the fix is the command" line fail keap.credentials "fix: authorise again: atsrecon auth keap"
check "  ... the later Keap checks are skipped" line skip keap.fields
bootstrap "$CFG"

doc "$CFG"	# refreshes (the bootstrap left no access token) and commits the pair
BAD=$(mkcfg badclient --set 'keap.client_secret="not-the-secret"')
with_state badclient	# its access token is fresh: no refresh is due
doc "$BAD"
expect 4 "a wrong client secret fails before a refresh needs it" fail keap.client "refused keap.client_id"
check "  ... the fix names both keys" line fail keap.client "fix: check keap.client_id and keap.client_secret"
BAD2=$(mkcfg badclient2 --set 'keap.client_secret="not-the-secret"')
bootstrap "$BAD2"
doc "$BAD2"
expect 4 "  ... and when a refresh is due, the credentials fail with it" fail keap.credentials \
	"check keap.client_id"

ALL='["contacts:read", "contacts:write", "contacts:delete", "tags:read", "tags:write", "tags:apply", "model:read"]'
perms() {	# all permissions but $1
	kadm POST /_admin/permissions "$(python3 -c 'import json, sys
p = json.loads(sys.argv[1]); p.remove(sys.argv[2]); print(json.dumps({"permissions": p}))' "$ALL" "$1")" >/dev/null
}
perms contacts:read
doc "$CFG"
expect 4 "no permission to read contacts: named" fail keap.contacts "lacks the permission to read contacts"
check "  ... credentials themselves are fine" line ok keap.credentials
check "  ... the other reads still run" line ok keap.tags
perms tags:read
doc "$CFG"
expect 4 "no permission to read tags: named" fail keap.tags "read tags"
perms model:read
doc "$CFG"
expect 4 "no permission to read the custom fields: named" fail keap.fields "read the contact model"
kadm POST /_admin/permissions "{\"permissions\": $ALL}" >/dev/null

# --- the mapping against Keap's model and tags
set_model "$(model_without "ATS Source")"
doc "$CFG"
expect 3 "a mapped custom field missing in Keap fails (configuration)" fail keap.fields \
	'no custom field labelled "ATS Source"'
check "  ... with the config line" line fail keap.fields "line "
set_model "$(model_without "ATS Source" "Job Board")"
doc "$CFG"
expect 3 "a map value that is not a dropdown option fails" fail keap.fields '"Job Board" is not an option'
set_model "$(model_without "ATS Candidate ID")"
doc "$CFG"
expect 3 "no external-id field fails" fail keap.external_id "a run stops without it"
set_model "$(echo "$MODEL" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for f in m["custom_fields"]:
    if f["label"] == "ATS Applied Date":
        f["field_type"] = "YES_NO"
print(json.dumps({"_merge": True, "model": m}))')"
doc "$CFG"
expect 3 "a mapped field of a type atsrecon cannot write fails" fail keap.fields "YES_NO"
set_model "{\"_merge\": true, \"model\": $MODEL}"
kadm POST /_admin/state '{"_merge": true, "tags": [{"id": 101, "name": "ATS Stage: Hired", "category": {"id": 11}},
  {"id": 108, "name": "ATS: Archived"}, {"id": 109, "name": "ATS: GDPR Erased"}, {"id": 110, "name": "ATS: Possible Duplicate"}]}' >/dev/null
doc "$CFG"
expect 0 "missing stage tags warn: created on the first run" warn keap.stage_tags "6 of 7 stage tags"
kadm POST /_admin/state "$STAGES" >/dev/null
BAD=$(mkcfg badmap --set 'fields=[{"from": "shoe_size", "to": "given_name"}]')
with_state badmap
doc "$BAD"
expect 3 "a broken field mapping fails the config check" fail config "shoe_size"
printf '{ "ats": { "kind": "greenhouse", ' >"$T_TMP/broken.jsonc"
doc "$T_TMP/broken.jsonc"
check "an unreadable config file: exit 3 before any check (exit $RC)" test "$RC" = 3

# --- quota (the Keap fake counts calls per day)
kadm POST /_admin/reset-counters '{}' >/dev/null
kadm POST /_admin/limits '{"product_per_day": 5}' >/dev/null
doc "$CFG"
expect 0 "a run needing more calls than are left today warns" warn keap.quota "more than is left"
kadm POST /_admin/reset-counters '{}' >/dev/null
kadm POST /_admin/limits '{"product_per_day": 1}' >/dev/null
doc "$CFG"
expect 7 "an exhausted daily quota fails (quota)" fail keap.quota "used up"
kadm POST /_admin/limits '{"product_per_day": 150000}' >/dev/null
kadm POST /_admin/reset-counters '{}' >/dev/null

# --- API keys instead of OAuth
KEY=$(kadm POST /_admin/api-keys '{"kind": "PAT"}' --get key)
PAT=$(mkcfg pat --set 'keap.auth="pat"' --set "keap.api_key=\"$KEY\"")
doc "$PAT"
expect 0 "a personal access token passes" ok keap.credentials "API key (keap.auth = pat) accepted"
check "  ... no OAuth client to check" line skip keap.client
kadm POST /_admin/revoke "{\"token\": \"$KEY\"}" >/dev/null
doc "$PAT"
expect 4 "a revoked API key fails" fail keap.credentials "Keap refused the API key"
check "  ... the fix names the key" line fail keap.credentials "fix: check keap.api_key"

# --- the ATS
BAD=$(mkcfg ghsecret --set 'ats.client_secret="not-the-secret"')
with_state ghsecret
doc "$BAD"
expect 4 "a wrong Greenhouse secret fails (credentials)" fail ats.credentials "refused the credentials"
check "  ... with the driver's reason" line fail ats.credentials "check ats.client_id, ats.client_secret"
check "  ... the fix names the keys" line fail ats.credentials "fix: check ats.client_id, ats.client_secret"
check "  ... and the read is skipped" line skip ats.read
# a reference list the mapping uses is refused (the tenant maps source): a warning
# naming the scope, not a failure; runs leave the field unknown
gadm POST /_admin/clients '{"client_id": "gh-client", "client_secret": "gh-secret", "scopes":
 ["harvest:candidates:list", "harvest:applications:list", "harvest:jobs:list",
  "harvest:referrers:list"]}' >/dev/null || not_ok "narrow the Greenhouse scopes"
doc "$CFG"
expect 0 "a refused lookup (403 on /v3/sources) only warns" warn ats.lookups "harvest:sources:list"
check "  ... naming the field" line warn ats.lookups "source (GET /v3/sources"
check "  ... and the read still passes" line ok ats.read
gadm POST /_admin/clients '{"client_id": "gh-client", "client_secret": "gh-secret"}' >/dev/null ||
	not_ok "restore the Greenhouse scopes"
doc "$CFG"
expect 0 "  ... with every scope back, the lookups pass" ok ats.lookups "answered"
FILE=$(mkcfg file --ats file --file "$T_TMP/export.csv")
with_state file
doc "$FILE"
expect 3 "an export file that is not there fails (configuration)" fail ats.credentials "export.csv"
check "  ... no TLS check for a file source" bash -c "! grep -q -E '^[a-z]+ +tls.ats ' '$T_TMP/out'"
printf '%s\n' 'Applicant ID,First Name,Last Name,Email,Other Email,Phone,Title,Company,Stage,Status,Job,Source,Date Applied,Updated,Anonymized' \
	'1,Ada,Lovelace,ada@example.com,,+14155550101,Engineer,,Offer,active,DevOps Engineer,Referral,2026-01-05,2026-01-06,false' \
	>"$T_TMP/export.csv"
doc "$FILE"
expect 0 "  ... and once it is there, the source reads it" ok ats.read "read the first record of the export"

# --- the state in S3 (state.url): lease, copy, and a refreshed token put back
AKID=ASIAQDOCTORTESTKEY01
AWSSECRET='doctorSecret/0123456789abcdefghij+KLMNOPQRS'
start_fake s3 --access-key-id $AKID --secret-access-key "$AWSSECRET" || { t_done; exit 1; }
S3_URL=$FAKE_URL
S3CFG=$(mkcfg s3 --set 'state.url="s3://atsrecon-test/doctor"' --set "state.endpoint=\"$S3_URL\"" \
	--set 'state.region="us-east-1"')
AWSENV=("AWS_ACCESS_KEY_ID=$AKID" "AWS_SECRET_ACCESS_KEY=$AWSSECRET" AWS_REGION=us-east-1)
RT=$(kadm POST /_admin/tokens '{}' --get refresh_token)
expect_rc 0 "tokens stored in the S3 state" env "${AWSENV[@]}" "$ATSRECON" auth keap \
	--refresh-token "$RT" -c "$S3CFG"
refreshes=$(kadm GET /_admin/stats --get refreshes)
run env "${AWSENV[@]}" "$ATSRECON" doctor -c "$S3CFG" --log-format json
expect 0 "state in S3: the lease is taken and the copy read" ok state "s3://atsrecon-test/doctor (lease taken"
check "  ... the due refresh was done" line ok keap.credentials "the new pair is stored"
check "  ... state.dir is not used" line skip state.dir "state.url"
run env "${AWSENV[@]}" "$ATSRECON" doctor -c "$S3CFG" --log-format json
expect 0 "  ... the rotated token reached S3, the lease was released (doctor again: ok)" ok keap.contacts
check "  ... one refresh for both" test "$(kadm GET /_admin/stats --get refreshes)" = $((refreshes + 1))
run env "${AWSENV[@]}" AWS_SECRET_ACCESS_KEY=wrong "$ATSRECON" doctor -c "$S3CFG" --log-format json
expect 4 "S3 refusing the AWS credentials fails (credentials)" fail state "S3 refused the credentials"
check "  ... and the OAuth checks are skipped" line skip keap.credentials

# --- no secret anywhere in what doctor printed
kadm GET /_admin/tokens | python3 -c '
import json, sys
t = json.load(sys.stdin)
for k in ("access_tokens", "refresh_tokens"):
    for x in t[k]:
        print(x["token"])
for x in t["api_keys"]:
    print(x["key"])' >"$T_TMP/secrets"
printf '%s\n' atsrecon-test-secret gh-secret "$AWSSECRET" >>"$T_TMP/secrets"
check "the secrets list is not empty ($(wc -l <"$T_TMP/secrets") values)" test "$(wc -l <"$T_TMP/secrets")" -gt 5
leaks=$(cat "$T_TMP/all-stdout" "$T_TMP/all-stderr" | grep -c -F -f "$T_TMP/secrets")
check "no token, key or client secret in any output ($leaks lines)" test "$leaks" = 0
check "  ... the grep would see one (canary)" bash -c "echo 'x atsrecon-test-secret y' | grep -q -F -f '$T_TMP/secrets'"

t_done
