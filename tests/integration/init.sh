#!/usr/bin/env bash
# Integration (issue 19): `atsrecon auth keap --login` and `atsrecon init`, driven
# as a person would, in a terminal (tmux), against the fakes.
#   - login: the authorize URL (client_id, redirect_uri, response_type=code,
#     scope=full, a random state); the redirected address pasted back stores the
#     tokens; a wrong state and an expired code are refused (exit 4, clear
#     message); a loopback redirect URI is taken on its port;
#   - init answered interactively on the demo world (Greenhouse) and with
#     --non-interactive for every source (Greenhouse, Lever, Ashby, export file):
#     check and doctor pass (0 fail), every stage and source the fake holds is
#     mapped, the first dry run reports no invalid_value, secrets are *_file
#     references only; a source that is not a Keap dropdown option ("Meetups")
#     is flagged in the generated config ("confirm") and named by doctor.
. "$(dirname "$0")/../lib.sh"

if ! command -v tmux >/dev/null; then
	not_ok "tmux is installed (build.sh's ensure_test_tools installs it)"
	t_done
	exit 1
fi
ATSRECON=$(realpath "$ATSRECON")	# the tmux sessions run in other directories
SOCK="$T_TMP/tmux.sock"
tm() { tmux -S "$SOCK" "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap t_cleanup_tmux EXIT
screen() { tm capture-pane -p -J -S -200 -t "$1" 2>/dev/null; }
# wait_screen SESSION TEXT [SECONDS]: until the pane shows TEXT
wait_screen() {
	local i
	for i in $(seq 1 $((${3:-30} * 10))); do
		screen "$1" | grep -q -F -- "$2" && return 0
		sleep 0.1
	done
	echo "    (waited for \"$2\"; the screen:)"
	screen "$1" | tail -15 | sed 's/^/    | /'
	return 1
}
# wait_file FILE [SECONDS]
wait_file() {
	local i
	for i in $(seq 1 $((${2:-30} * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
type_line() { tm send-keys -t "$1" -l -- "$2"; tm send-keys -t "$1" Enter; }
# the browser: the person approves, Keap redirects; the address it was sent to
approve() { curl -s --cacert "$CA" -o /dev/null -w '%{redirect_url}' "$1"; }
authorize_url() { screen "$1" | grep -o 'https://localhost:[0-9]*/app/oauth/authorize?[^ ]*' | tail -1; }

start_fake keap --idle-timeout 600 || { t_done; exit 1; }
KU=$FAKE_URL
kadm() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$CA" "$@"; }
printf 'atsrecon-test-secret\n' >"$T_TMP/keap_secret"
printf 'gh-secret\n' >"$T_TMP/gh_secret"
printf 'lever-test-key-0001\n' >"$T_TMP/lever_key"
printf 'ashby-test-key\n' >"$T_TMP/ashby_key"
chmod 600 "$T_TMP"/*_secret "$T_TMP"/*_key
keap_cfg() {	# keap_cfg STATE REDIRECT: a configuration with only Keap's side
	cat <<EOF
{ "keap": { "base_url": "$KU/crm/rest", "token_url": "$KU/token",
    "authorize_url": "$KU/app/oauth/authorize", "redirect_uri": "$2",
    "client_id": "atsrecon-test-client", "client_secret_file": "$T_TMP/keap_secret" },
  "http": { "ca_file": "$CA" }, "state": { "dir": "$1" } }
EOF
}
REDIRECT=https://app.example.com/keap/callback
keap_cfg "$T_TMP/st-login" "$REDIRECT" >"$T_TMP/keap.jsonc"

# --- auth keap --login: the URL, the pasted redirect, the tokens stored
tm -f /dev/null new-session -d -s login -x 400 -y 50 \
	"'$ATSRECON' auth keap --login -c '$T_TMP/keap.jsonc' --log-format text 2>'$T_TMP/login.err'; echo \$? >'$T_TMP/login.rc'; sleep 60"
check "login: the authorize URL is shown" wait_screen login "/app/oauth/authorize?"
URL=$(authorize_url login)
check "login: the URL names the client, the redirect URI, response_type=code and scope=full" \
	bash -c "grep -q 'client_id=atsrecon-test-client&redirect_uri=https%3A%2F%2Fapp.example.com%2Fkeap%2Fcallback&response_type=code&scope=full&state=' <<<'$URL'"
STATE1=$(sed -n 's/.*state=\([0-9a-f]*\).*/\1/p' <<<"$URL")
check "login: a random state of 128 bits" test "${#STATE1}" = 32
check "login: it asks for the address the browser was sent to" wait_screen login "paste the address"
LOC=$(approve "$URL")
check "login: Keap (the fake) redirects with a code and the state" bash -c "grep -q '^$REDIRECT?code=KC-.*&state=$STATE1\$' <<<'$LOC'"
type_line login "$LOC"
check "login: the command ends" wait_file "$T_TMP/login.rc"
check "login: exit 0 (got $(cat "$T_TMP/login.rc" 2>/dev/null))" test "$(cat "$T_TMP/login.rc" 2>/dev/null)" = 0
check "login: the tokens are stored" grep -q "Keap authorised: the tokens are stored in $T_TMP/st-login" "$T_TMP/login.err"
CODE=$(sed -n 's/.*code=\([^&]*\).*/\1/p' <<<"$LOC")
check "login: the code was redeemed (single use)" bash -c \
	"python3 '$TOP/tests/fakes/admin.py' '$KU' '$CA' GET /_admin/tokens | python3 -c 'import json,sys; c=[x for x in json.load(sys.stdin)[\"auth_codes\"] if x[\"code\"]==\"$CODE\"]; sys.exit(0 if c and c[0][\"used\"] else 1)'"
screen login >"$T_TMP/login.screen"
check "login: no token on the screen or in the log" bash -c "! grep -q -E 'KA-|KR-' '$T_TMP/login.screen' '$T_TMP/login.err'"
check "login: the code is not in the log" bash -c "! grep -q -F -- '$CODE' '$T_TMP/login.err'"
tm kill-session -t login

# a second URL is another state
tm -f /dev/null new-session -d -s wrong -x 400 -y 50 \
	"'$ATSRECON' auth keap --login -c '$T_TMP/keap.jsonc' --log-format text 2>'$T_TMP/wrong.err'; echo \$? >'$T_TMP/wrong.rc'; sleep 60"
wait_screen wrong "paste the address" >/dev/null
URL2=$(authorize_url wrong)
check "login: every run has a new state" test "$(sed -n 's/.*state=\([0-9a-f]*\).*/\1/p' <<<"$URL2")" != "$STATE1"
LOC=$(approve "$URL")	# approved from the FIRST URL: its state is not this run's
type_line wrong "$LOC"
check "login: a wrong state ends the command" wait_file "$T_TMP/wrong.rc"
check "login: a wrong state is exit 4 (got $(cat "$T_TMP/wrong.rc" 2>/dev/null))" test "$(cat "$T_TMP/wrong.rc" 2>/dev/null)" = 4
check "login: ... and says the state does not match" grep -q "state does not match" "$T_TMP/wrong.err"
check "login: ... without exchanging the code" bash -c \
	"python3 '$TOP/tests/fakes/admin.py' '$KU' '$CA' GET /_admin/tokens | python3 -c 'import json,sys; c=[x for x in json.load(sys.stdin)[\"auth_codes\"] if x[\"code\"]==\"$(sed -n 's/.*code=\([^&]*\).*/\1/p' <<<"$LOC")\"]; sys.exit(0 if c and not c[0][\"used\"] else 1)'"
tm kill-session -t wrong

# an expired code: Keap's codes live minutes (the fake: lifetimes.code_s = 600)
tm -f /dev/null new-session -d -s expired -x 400 -y 50 \
	"'$ATSRECON' auth keap --login -c '$T_TMP/keap.jsonc' --log-format text 2>'$T_TMP/expired.err'; echo \$? >'$T_TMP/expired.rc'; sleep 60"
wait_screen expired "paste the address" >/dev/null
LOC=$(approve "$(authorize_url expired)")
kadm POST /_admin/clock '{"advance_s": 700}' >/dev/null
type_line expired "$LOC"
check "login: an expired code ends the command" wait_file "$T_TMP/expired.rc"
check "login: an expired code is exit 4 (got $(cat "$T_TMP/expired.rc" 2>/dev/null))" test "$(cat "$T_TMP/expired.rc" 2>/dev/null)" = 4
check "login: ... and says the code expired or was used, and what to do" bash -c \
	"grep -q 'Keap refused the code (invalid_grant): it expired' '$T_TMP/expired.err' && grep -q 'auth keap --login. again' '$T_TMP/expired.err'"
kadm POST /_admin/clock '{"offset_s": 0}' >/dev/null
tm kill-session -t expired

# a loopback redirect URI: atsrecon takes the redirect on its port
LPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
keap_cfg "$T_TMP/st-loop" "http://127.0.0.1:$LPORT/cb" >"$T_TMP/loop.jsonc"
mkfifo "$T_TMP/loop.in"
exec 7<>"$T_TMP/loop.in"	# stdin stays open (nothing is pasted) until the test closes it
("$ATSRECON" auth keap --login -c "$T_TMP/loop.jsonc" --log-format text <"$T_TMP/loop.in" >"$T_TMP/loop.out" \
	2>"$T_TMP/loop.err"; echo $? >"$T_TMP/loop.rc") &
T_PIDS+=($!)
for _ in $(seq 1 100); do grep -q authorize "$T_TMP/loop.out" 2>/dev/null && break; sleep 0.1; done
check "login: with a loopback redirect URI it waits on that port" grep -q "waits for the redirect on 127.0.0.1:$LPORT" "$T_TMP/loop.out"
page=$(curl -s -L --cacert "$CA" "$(grep -o 'https://localhost:[0-9]*/app/oauth/authorize?[^ ]*' "$T_TMP/loop.out")")
check "login: the browser lands on atsrecon's page" grep -q "atsrecon received Keap's answer" <<<"$page"
wait_file "$T_TMP/loop.rc" 20
check "login: ... and the tokens are stored (exit $(cat "$T_TMP/loop.rc" 2>/dev/null))" bash -c \
	"[ \"\$(cat '$T_TMP/loop.rc')\" = 0 ] && grep -q 'Keap authorised' '$T_TMP/loop.err'"
exec 7>&-

# --- the worlds: the ATS fakes seeded with the demo world (Keap drifted from it)
env_for() {	# env_for KIND URL: the connection settings as the environment gives them
	echo "ATSRECON_KEAP_BASE_URL=$KU/crm/rest ATSRECON_KEAP_TOKEN_URL=$KU/token"
	echo "ATSRECON_KEAP_AUTHORIZE_URL=$KU/app/oauth/authorize ATSRECON_HTTP_CA_FILE=$CA"
	case $1 in
	greenhouse) echo "ATSRECON_ATS_BASE_URL=$2/v3 ATSRECON_ATS_AUTH_URL=$2/auth" ;;
	lever) echo "ATSRECON_ATS_BASE_URL=$2/v1" ;;
	ashby) echo "ATSRECON_ATS_BASE_URL=$2" ;;
	esac
}
seed() {	# seed KIND URL
	python3 "$TOP/tests/fakes/seed_demo.py" "$2" "$KU" "$CA" --ats "$1" --file "$T_TMP/export.csv" \
		--candidates 150 >"$T_TMP/seed-$1.log" 2>&1 || not_ok "seed the $1 world"
}
# held KIND URL: the stages and sources the fake holds, one JSON object
held() {
	if [ "$1" = file ]; then
		python3 -c 'import csv,json,sys; r=list(csv.DictReader(open(sys.argv[1])))
print(json.dumps({"stages": sorted({x["Stage"] for x in r if x["Stage"]}), "sources": sorted({x["Source"] for x in r if x["Source"]})}))' "$T_TMP/export.csv"
		return
	fi
	python3 - "$1" "$2" "$CA" <<'EOF'
import json, ssl, sys, urllib.request
kind, url, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
get = lambda p: json.loads(urllib.request.urlopen(url + p, context=ctx).read())
people = get("/_admin/canon/people")["people"]
stages = {p["stage"] for p in people if p.get("stage")}
sources = {p["source"] for p in people if p.get("source")}
if kind == "greenhouse":
    st = get("/_admin/state")
    stages |= {s["name"] for s in st["job_interview_stages"]}
    sources |= {s["name"] for s in st["sources"]}
print(json.dumps({"stages": sorted(stages), "sources": sorted(sources)}))
EOF
}
# mapped CONFIG HELD: every held stage has a tag, every held source is an option or mapped
mapped() {
	"$ATSRECON" check -c "$1" >"$T_TMP/check.out" 2>&1 || return 1
	python3 - "$T_TMP/check.out" "$2" <<'EOF'
import json, sys
dump = open(sys.argv[1]).read().splitlines()
val = lambda k: json.loads([l for l in dump if l.startswith(k + " = ")][0].split(" = ", 1)[1].rsplit("#", 1)[0])
held = json.loads(sys.argv[2])
fields, st = val("fields"), val("stage_tags")
options = {"LinkedIn", "Referral", "Job Board", "Careers Page", "Agency"}  # the Keap fake's dropdown
src = [f for f in fields if f.get("from") == "source"]
bad = [s for s in held["stages"] if s not in st["by_stage"]]
bad += [s for s in held["sources"] if not src or (s not in src[0].get("map", {}) and s not in options)]
bad += [s for s, o in (src[0].get("map", {}).items() if src else []) if o not in options]
if bad or not held["stages"] or not held["sources"]:
    print("    not mapped:", bad, "held:", held)
    sys.exit(1)
EOF
}
# flagged CONFIG HELD: every held source that is not a Keap option is in "confirm"
flagged() {
	"$ATSRECON" check -c "$1" >"$T_TMP/check.out" 2>&1 || return 1
	python3 - "$T_TMP/check.out" "$2" <<'EOF'
import json, sys
dump = open(sys.argv[1]).read().splitlines()
fields = json.loads([l for l in dump if l.startswith("fields = ")][0].split(" = ", 1)[1].rsplit("#", 1)[0])
held = json.loads(sys.argv[2])
options = {"LinkedIn", "Referral", "Job Board", "Careers Page", "Agency"}
src = [f for f in fields if f.get("from") == "source"][0]
need = {s for s in held["sources"] if s not in options}
if not need or not need <= set(src.get("confirm", [])):
    print("    not flagged:", need - set(src.get("confirm", [])))
    sys.exit(1)
EOF
}
no_invalid() {	# no_invalid STATE_DIR: the dry run's report has no invalid_value drift
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]+"/reports/report.json"))
bad=[d for d in r["drift"] if d["kind"]=="invalid_value"]
print("    invalid_value:", bad[:3]) if bad else None; sys.exit(1 if bad else 0)' "$1"
}

start_fake greenhouse --limit-per-window 100000 --idle-timeout 600 || { t_done; exit 1; }
GU=$FAKE_URL
seed greenhouse "$GU"

# --- init, answered in a terminal (Greenhouse; a new state: init authorises Keap)
mkdir -p "$T_TMP/i1"
tm -f /dev/null new-session -d -s init -x 250 -y 80 -c "$T_TMP/i1" \
	"env $(env_for greenhouse "$GU" | tr '\n' ' ') '$ATSRECON' init --out '$T_TMP/i1/atsrecon.jsonc' --log-format text 2>'$T_TMP/i1.err'; echo \$? >'$T_TMP/i1.rc'; sleep 120"
wait_screen init "Applicant tracking system" && type_line init greenhouse
wait_screen init "Keap authorisation" && type_line init ""
wait_screen init "Greenhouse Harvest v3 client id" && type_line init gh-client
wait_screen init "Greenhouse client secret" && type_line init "$T_TMP/gh_secret"
wait_screen init "Greenhouse user id" && type_line init 4711
wait_screen init "Keap app client id" && type_line init atsrecon-test-client
wait_screen init "Keap app client secret" && type_line init atsrecon-test-secret	# pasted: goes to a 0600 file
wait_screen init "redirect URI registered" && type_line init "$REDIRECT"
wait_screen init "state directory" && type_line init "$T_TMP/st-i1"
check "init (terminal): with no Keap tokens it shows the authorize URL" wait_screen init "/app/oauth/authorize?"
type_line init "$(approve "$(authorize_url init)")"
check "init (terminal): ends" wait_file "$T_TMP/i1.rc" 180
check "init (terminal): exit 0 (got $(cat "$T_TMP/i1.rc" 2>/dev/null))" test "$(cat "$T_TMP/i1.rc" 2>/dev/null)" = 0
screen init >"$T_TMP/i1.screen"
check "init (terminal): the secret typed was not echoed" bash -c "! grep -q atsrecon-test-secret '$T_TMP/i1.screen'"
check "init (terminal): it ran doctor with 0 fail" grep -q "doctor: .* 0 fail" "$T_TMP/i1.screen"
check "init (terminal): it ends with the next command" grep -q "atsrecon run --dry-run -c $T_TMP/i1/atsrecon.jsonc" "$T_TMP/i1.screen"
G1="$T_TMP/i1/atsrecon.jsonc"
check "init (terminal): no secret in the configuration" bash -c "! grep -q -E 'atsrecon-test-secret|gh-secret|KR-|KA-' '$G1'"
check "init (terminal): secrets are *_file references" bash -c "grep -q '\"client_secret_file\": \"$T_TMP/gh_secret\"' '$G1' && grep -q '\"client_secret_file\": \"$T_TMP/i1/credentials/keap_client_secret\"' '$G1'"
check "init (terminal): the pasted secret's file is 0600" test "$(stat -c %a "$T_TMP/i1/credentials/keap_client_secret")" = 600
check "init (terminal): the configuration is commented" grep -q "^  // one tag of the category per candidate" "$G1"
HELD=$(held greenhouse "$GU")
check "init (terminal): every stage and source Greenhouse holds is mapped" mapped "$G1" "$HELD"
check "init (terminal): Meetups (no Keap option) is flagged for a person" bash -c \
	"grep -q '// CONFIRM: these ATS sources are not options' '$G1' && grep -q '\"confirm\": \\[.*\"Meetups\"' '$G1'"
expect_rc 0 "init (terminal): atsrecon check passes" env $(env_for greenhouse "$GU") "$ATSRECON" check -c "$G1"
expect_rc 0 "init (terminal): atsrecon doctor passes" env $(env_for greenhouse "$GU") "$ATSRECON" doctor -c "$G1"
check "init (terminal): doctor has 0 fail" out_has ", 0 fail,"
check "init (terminal): doctor names the guessed source" bash -c "grep '^warn  keap.confirm' '$T_TMP/out' | grep -q '\"Meetups\" -> '"
expect_rc 0 "init (terminal): the first dry run" env $(env_for greenhouse "$GU") "$ATSRECON" run --dry-run -c "$G1" --log-level warn
check "init (terminal): the dry run reports no invalid_value" no_invalid "$T_TMP/st-i1"
tm kill-session -t init

# --- init --non-interactive, every source
expect_rc 3 "init --non-interactive names what is missing" env $(env_for lever https://localhost:1) \
	"$ATSRECON" init --non-interactive --ats lever --out "$T_TMP/none.jsonc" --state-dir "$T_TMP/st-login"
check "... as settings and variables" err_has "ats.api_key_file (ATSRECON_ATS_API_KEY_FILE)"
check "... and writes nothing" test ! -e "$T_TMP/none.jsonc"
expect_rc 2 "init never overwrites a file" "$ATSRECON" init --non-interactive --out "$G1"

for kind in greenhouse lever ashby file; do
	url=""
	case $kind in
	greenhouse) url=$GU ;;
	lever | ashby) start_fake "$kind" --idle-timeout 600 || continue; url=$FAKE_URL; seed "$kind" "$url" ;;
	file) seed file "" ;;
	esac
	st="$T_TMP/st-$kind"
	cred=()
	case $kind in
	greenhouse) cred=(ATSRECON_ATS_CLIENT_ID=gh-client ATSRECON_ATS_USER_ID=4711 ATSRECON_ATS_CLIENT_SECRET_FILE="$T_TMP/gh_secret") ;;
	lever) cred=(ATSRECON_ATS_API_KEY_FILE="$T_TMP/lever_key") ;;
	ashby) cred=(ATSRECON_ATS_API_KEY_FILE="$T_TMP/ashby_key") ;;
	file) cred=(ATSRECON_ATS_FILE="$T_TMP/export.csv") ;;
	esac
	envs=($(env_for "$kind" "$url") "${cred[@]}" ATSRECON_KEAP_CLIENT_ID=atsrecon-test-client
		ATSRECON_KEAP_CLIENT_SECRET_FILE="$T_TMP/keap_secret" ATSRECON_STATE_DIR="$st")
	# the Keap tokens, from stdin (never argv)
	kadm POST /_admin/tokens '{}' --get refresh_token | env "${envs[@]}" "$ATSRECON" auth keap \
		--refresh-token-file - -q || not_ok "$kind: store the Keap refresh token"
	out="$T_TMP/$kind.jsonc"
	expect_rc 0 "init --non-interactive --ats $kind" env "${envs[@]}" "$ATSRECON" init --non-interactive \
		--ats "$kind" --out "$out"
	check "$kind: init ran doctor with 0 fail" out_has " 0 fail"
	check "$kind: init ends with the next command" out_has "atsrecon run --dry-run -c $out"
	check "$kind: every stage and source the fake holds is mapped" mapped "$out" "$(held "$kind" "$url")"
	check "$kind: every source that is not a Keap option is flagged (\"confirm\")" flagged "$out" "$(held "$kind" "$url")"
	[ "$kind" = file ] && check "file: ats.columns proposed from the header row" bash -c \
		"grep -q '\"columns\": {\"id\": \"Applicant ID\"' '$out' && grep -q '\"email\": \\[\"Email\", \"Other Email\"\\]' '$out'"
	# the file's settings come from the environment: the config must run without it
	expect_rc 0 "$kind: doctor on the generated file alone" "$ATSRECON" doctor -c "$out"
	check "$kind: doctor names the guessed sources" bash -c "grep '^warn  keap.confirm' '$T_TMP/out' | grep -q '\"Indeed\" -> \"Job Board\"'"
	expect_rc 0 "$kind: the first dry run" "$ATSRECON" run --dry-run -c "$out" --log-level warn
	check "$kind: the dry run reports no invalid_value" no_invalid "$st"
done

t_done
