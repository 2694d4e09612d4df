#!/usr/bin/env bash
# Integration: `atsrecon lambda`, the Lambda custom runtime (lambda.c), against the fake
# Runtime API (tests/fakes/lambda_runtime.py, plain HTTP like the real one) and the fake S3
# (tests/fakes/s3.py) for the remote state and its lease.
#
#   - outside Lambda, and with a bad configuration: init/error, then exit 3 ($ATSRECON)
#   - with a stub reconcile (build/dev/tests/test_s3 lambda-stub, lambda_loop with a run
#     function that takes the S3 state, bumps a counter, commits): a response, an error for
#     a failed run, the deadline handed down and honoured, a runtime killed at its deadline
#     followed by runs that converge (locked while its lease lives, then taken over, its
#     leftover directory swept), two environments racing for the lease (one runs, one
#     answers "locked" and waits for the next invocation), Lambda's log format and level,
#     no credential in any log, and no conformance record at the fake.
# The stub is the sanitizer build whichever binary is under test, so its part runs once:
# with the release binary (or LAMBDA_FULL=1).
. "$(dirname "$0")/../lib.sh"

STUB=$TOP/build/dev/tests/test_s3
case "$ATSRECON" in */build/dev/*) FULL=${LAMBDA_FULL:-0} ;; *) FULL=${LAMBDA_FULL:-1} ;; esac

AKID=ASIAQLAMBDATESTKEY01
SECRET='lambdaSecret/0123456789abcdefghij+KLMNOPQRS'
TOKEN='IQoJb3JpZ2luX2VjELambdaSessionToken//////////wEaCXVzLWVhc3QtMSJ+tok=='
BUCKET=atsrecon-test

# jq-free JSON: jget FILE PYTHON-EXPR-ON-d
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# radm PORT METHOD PATH [BODY] > file: the Runtime API fake's admin
radm() { curl -sS -X "$2" -H 'Content-Type: application/json' ${4:+--data "$4"} "http://127.0.0.1:$1$3"; }
# sadm METHOD PATH [BODY]: the S3 fake's admin
sadm() { curl -sS --cacert "$CA" -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$S3_URL$2"; }

start_runtime() {	# sets RT (port)
	start_fake lambda_runtime "$@" || return 1
	RT=$FAKE_PORT
}

# invoke PORT JSON-FIELDS -> prints the request id
invoke() { radm "$1" POST /_admin/invoke "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])'; }
# wait_inv PORT ID FILE [TIMEOUT_MS]: the invocation record once done, into FILE
wait_inv() { radm "$1" POST /_admin/wait "{\"request_id\":\"$2\",\"timeout_ms\":${4:-20000}}" >"$3"; }

# ---- outside Lambda, bad configuration (the binary under test) -----------------------------
expect_rc 3 "lambda outside Lambda (no AWS_LAMBDA_RUNTIME_API)" env -u AWS_LAMBDA_RUNTIME_API \
	"$ATSRECON" lambda
check "says what is missing" err_has "AWS_LAMBDA_RUNTIME_API"

start_runtime || { t_done; exit 1; }
R0=$RT
expect_rc 3 "no state.url: init/error, exit" env AWS_LAMBDA_RUNTIME_API=127.0.0.1:$R0 \
	AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY="$SECRET" ATSRECON_STATE_URL= "$ATSRECON" lambda
radm "$R0" GET /_admin/results >"$T_TMP/r0.json"
check "the fake got one init error" test "$(jget "$T_TMP/r0.json" 'len(d["init_errors"])')" = 1
check "its type is Function.ConfigError (header and body)" test \
	"$(jget "$T_TMP/r0.json" 'd["init_errors"][0]["header_type"]+" "+d["init_errors"][0]["json"]["errorType"]')" \
	= "Function.ConfigError Function.ConfigError"
check "its message names state.url" grep -q state.url <<<"$(jget "$T_TMP/r0.json" 'd["init_errors"][0]["json"]["errorMessage"]')"
check "runtime state init_error" test "$(jget "$T_TMP/r0.json" 'd["runtime_state"]')" = init_error
check "no conformance record" test "$(jget "$T_TMP/r0.json" 'len(d["conformance"])')" = 0
check "logs in Lambda's JSON format (level ERROR, message)" \
	grep -q '"level":"ERROR","subsystem":"lambda","message":"configuration: state.url' "$T_TMP/err"

radm "$R0" POST /_admin/clear '{}' >/dev/null
expect_rc 3 "no AWS credentials: init/error" env -u AWS_ACCESS_KEY_ID AWS_LAMBDA_RUNTIME_API=127.0.0.1:$R0 \
	ATSRECON_STATE_URL=s3://$BUCKET/x AWS_LAMBDA_LOG_LEVEL=FATAL "$ATSRECON" lambda
radm "$R0" GET /_admin/results >"$T_TMP/r0.json"
check "the init error names the variables" grep -q AWS_ACCESS_KEY_ID \
	<<<"$(jget "$T_TMP/r0.json" 'd["init_errors"][0]["json"]["errorMessage"]')"
radm "$R0" POST /_admin/clear '{}' >/dev/null
expect_rc 3 "a bad bucket name: init/error" env AWS_LAMBDA_RUNTIME_API=127.0.0.1:$R0 \
	AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY="$SECRET" ATSRECON_STATE_URL=s3://No_Such/x \
	"$ATSRECON" lambda
radm "$R0" GET /_admin/results >"$T_TMP/r0.json"
check "the init error names the bucket" grep -q "No_Such" \
	<<<"$(jget "$T_TMP/r0.json" 'd["init_errors"][0]["json"]["errorMessage"]')"
check "no secret in those logs" bash -c "! grep -q -F -e '$SECRET' '$T_TMP/all-stderr'"
radm "$R0" POST /_admin/clear '{}' >/dev/null
if [ -x "$STUB" ]; then
	expect_rc 0 "lambda_init_error (for a config that does not load)" env AWS_LAMBDA_RUNTIME_API=127.0.0.1:$R0 \
		"$STUB" lambda-init-error "config.jsonc:3: bad value"
	radm "$R0" GET /_admin/results >"$T_TMP/r0.json"
	check "  reaches the Runtime API as Function.ConfigError" test \
		"$(jget "$T_TMP/r0.json" 'd["init_errors"][0]["header_type"]+"|"+d["init_errors"][0]["json"]["errorMessage"]')" \
		= "Function.ConfigError|config.jsonc:3: bad value"
fi

if [ "$FULL" != 1 ]; then
	t_done
	exit
fi

# ---- the runtime loop with the stub reconcile ----------------------------------------------
if [ ! -x "$STUB" ]; then
	not_ok "$STUB is not built (make MODE=dev tests)"
	t_done
	exit 1
fi
start_fake s3 --access-key-id $AKID --secret-access-key "$SECRET" --session-token "$TOKEN" ||
	{ t_done; exit 1; }
S3_URL=$FAKE_URL

# start_stub NAME RUNTIME-PORT [VAR=VALUE...]: the stub runtime in the background; STUB_PID
start_stub() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$T_TMP/tmp-$name"
	env AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port ATSRECON_STATE_URL="s3://$BUCKET/lambda state" \
		ATSRECON_STATE_ENDPOINT="$S3_URL" ATSRECON_STATE_REGION=us-east-1 \
		ATSRECON_HTTP_CA_FILE="$CA" AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY="$SECRET" \
		AWS_SESSION_TOKEN="$TOKEN" TMPDIR="$T_TMP/tmp-$name" "$@" \
		"$STUB" lambda-stub 2>>"$T_TMP/stub-$name.log" </dev/null &
	STUB_PID=$!
	disown "$STUB_PID"	# no job-control notice when the fake kills it
	T_PIDS+=("$STUB_PID")
}
# wait_waiting PORT: until the runtime waits in `next` (up to 10 s)
wait_waiting() {
	local i
	for i in $(seq 1 200); do
		[ "$(radm "$1" GET /_admin/results | python3 -c 'import json,sys; print(json.load(sys.stdin)["waiting_next"])')" = 1 ] && return 0
		sleep 0.05
	done
	return 1
}

start_runtime || { t_done; exit 1; }
R1=$RT
start_stub a "$R1" AWS_LAMBDA_LOG_LEVEL=DEBUG
A=$STUB_PID
check "the runtime calls next" wait_waiting "$R1"

id=$(invoke "$R1" '{"payload":{"mode":"ok"}}')
wait_inv "$R1" "$id" "$T_TMP/i.json"
check "an invocation is answered with a response" test "$(jget "$T_TMP/i.json" 'd["status"]')" = responded
check "the response: status ok, exit 0, its request id" test \
	"$(jget "$T_TMP/i.json" 'd["response"]["json"]["status"]+" "+str(d["response"]["json"]["exit"])+" "+d["response"]["json"]["request_id"]')" \
	= "ok 0 $id"
check "the run summary inside it (first run: counter 1)" test \
	"$(jget "$T_TMP/i.json" 'd["response"]["json"]["summary"]["counter"]')" = 1
check "sent as application/json" test "$(jget "$T_TMP/i.json" 'd["response"]["content_type"]')" = application/json
check "log lines carry the request id (Lambda's requestId)" grep -q "\"requestId\":\"$id\"" "$T_TMP/stub-a.log"
check "AWS_LAMBDA_LOG_LEVEL=DEBUG: debug lines" grep -q '"level":"DEBUG"' "$T_TMP/stub-a.log"
check "the state is in S3" test "$(sadm GET "/_admin/object?bucket=$BUCKET&key=lambda%20state/state.mdb" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["size"] > 0)')" = True

id=$(invoke "$R1" '{"payload":{"mode":"fail"}}')
wait_inv "$R1" "$id" "$T_TMP/i.json"
check "a failed run is answered with an error" test "$(jget "$T_TMP/i.json" 'd["status"]')" = errored
check "error type Function.RemoteUnavailable (header and body)" test \
	"$(jget "$T_TMP/i.json" 'd["error"]["header_type"]+" "+d["error"]["json"]["errorType"]')" \
	= "Function.RemoteUnavailable Function.RemoteUnavailable"
check "error Content-Type is Lambda's" test "$(jget "$T_TMP/i.json" 'd["error"]["content_type"]')" \
	= application/vnd.aws.lambda.error+json
check "the message says what failed" grep -q "(exit 5)" \
	<<<"$(jget "$T_TMP/i.json" 'd["error"]["json"]["errorMessage"]')"

id=$(invoke "$R1" '{"payload":{"mode":"deadline"},"timeout_ms":4000}')
wait_inv "$R1" "$id" "$T_TMP/i.json"
check "a run that works to its deadline is answered in time" test "$(jget "$T_TMP/i.json" 'd["status"]')" = responded
check "answered before Lambda's deadline" test "$(jget "$T_TMP/i.json" 'd["answered_at_ms"] < d["deadline_ms"]')" = True
check "the run's deadline is Lambda's minus the 1 s margin (2-3 s of 4 s left)" test \
	"$(jget "$T_TMP/i.json" '2000 < d["response"]["json"]["summary"]["left_at_start_ms"] <= 3000')" = True
check "and the run used it up" test "$(jget "$T_TMP/i.json" 'd["response"]["json"]["summary"]["left_at_end_ms"] <= 0')" = True
check "the runtime waits for the next invocation" wait_waiting "$R1"

# ---- killed at the deadline, then converging -----------------------------------------------
start_runtime || { t_done; exit 1; }
R2=$RT
start_stub k "$R2" ATSRECON_STATE_LEASE_TTL=6s
K=$STUB_PID
wait_waiting "$R2"
radm "$R2" POST /_admin/kill-on-timeout "{\"pid\":$K,\"cmdline_contains\":\"lambda-stub\"}" >/dev/null
t_kill=$(date +%s%N)
id=$(invoke "$R2" '{"payload":{"mode":"hang_after_commit","sleep_ms":60000},"timeout_ms":2500}')
wait_inv "$R2" "$id" "$T_TMP/i.json"
check "the hung invocation timed out" test "$(jget "$T_TMP/i.json" 'd["status"]')" = timed_out
check "and its runtime was killed" test "$(jget "$T_TMP/i.json" 'd["killed"]["ok"]')" = True
for _ in $(seq 1 100); do kill -0 "$K" 2>/dev/null || break; sleep 0.05; done
check "its directory (a state copy) was left in /tmp" test "$(ls -d "$T_TMP"/tmp-k/atsrecon-state.* 2>/dev/null | wc -l)" = 1
start_stub k "$R2" ATSRECON_STATE_LEASE_TTL=6s	# Lambda starts a fresh runtime
wait_waiting "$R2"
id=$(invoke "$R2" '{"payload":{"mode":"ok"}}')
wait_inv "$R2" "$id" "$T_TMP/i.json"
check "the next run, within the dead run's lease: locked, not an error" test \
	"$(jget "$T_TMP/i.json" 'd["status"]+" "+d["response"]["json"]["status"]+" "+str(d["response"]["json"]["exit"])')" \
	= "responded locked 75"
check "the dead run's directory was swept" test "$(ls -d "$T_TMP"/tmp-k/atsrecon-state.* 2>/dev/null | wc -l)" = 0
# until the lease (6 s from the hung run's start) has expired
left=$(( 7000 - ($(date +%s%N) - t_kill) / 1000000 ))
[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
id=$(invoke "$R2" '{"payload":{"mode":"ok"}}')
wait_inv "$R2" "$id" "$T_TMP/i.json"
check "after the lease expired the run takes it over" test "$(jget "$T_TMP/i.json" 'd["response"]["json"]["status"]')" = ok
check "and finds what the killed run committed (counter 4: 2 runs before, the killed one, this)" test \
	"$(jget "$T_TMP/i.json" 'd["response"]["json"]["summary"]["counter"]')" = 4
check "the take-over is logged" grep -q "taking over the stale lease" "$T_TMP/stub-k.log"
check "nothing left in its /tmp" test "$(ls -A "$T_TMP/tmp-k" | wc -l)" = 0

# ---- two environments racing for the lease -------------------------------------------------
start_runtime || { t_done; exit 1; }
R3=$RT
start_runtime || { t_done; exit 1; }
R4=$RT
start_stub x "$R3" AWS_LAMBDA_LOG_LEVEL=WARN
X=$STUB_PID
start_stub y "$R4" AWS_LAMBDA_LOG_LEVEL=WARN
Y=$STUB_PID
wait_waiting "$R3"
wait_waiting "$R4"
ix=$(invoke "$R3" '{"payload":{"mode":"hold","sleep_ms":1500}}')
iy=$(invoke "$R4" '{"payload":{"mode":"hold","sleep_ms":1500}}')
wait_inv "$R3" "$ix" "$T_TMP/x.json"
wait_inv "$R4" "$iy" "$T_TMP/y.json"
sx=$(jget "$T_TMP/x.json" 'd["status"]+" "+d["response"]["json"]["status"]')
sy=$(jget "$T_TMP/y.json" 'd["status"]+" "+d["response"]["json"]["status"]')
check "both invocations answered with a response ($sx / $sy)" test "${sx%% *} ${sy%% *}" = "responded responded"
check "exactly one ran and one was locked" test "$(printf '%s\n%s\n' "${sx#* }" "${sy#* }" | sort | tr '\n' ' ')" = "locked ok "
if [ "${sx#* }" = ok ]; then winner=$T_TMP/x.json; lport=$R4; else winner=$T_TMP/y.json; lport=$R3; fi
check "the state moved by exactly one run (counter 5)" test \
	"$(jget "$winner" 'd["response"]["json"]["summary"]["counter"]')" = 5
check "both runtimes wait for their next invocation" wait_waiting "$R3"
check "  (the other one too)" wait_waiting "$R4"
check "the locked one's process is still alive" kill -0 "$X" "$Y"
id=$(invoke "$lport" '{"payload":{"mode":"ok"}}')
wait_inv "$lport" "$id" "$T_TMP/i.json"
check "its next invocation runs (counter 6)" test "$(jget "$T_TMP/i.json" 'd["response"]["json"]["summary"]["counter"]')" = 6
check "AWS_LAMBDA_LOG_LEVEL=WARN: no INFO lines" bash -c "! grep -q '\"level\":\"INFO\"' '$T_TMP/stub-x.log' '$T_TMP/stub-y.log'"
check "  but the warning about the skipped run" grep -q -h '"level":"WARN".*another run holds the state' \
	"$T_TMP/stub-x.log" "$T_TMP/stub-y.log"

# ---- end to end: the real reconcile in Lambda, state in S3 (the binary under test) ----------
start_fake keap || { t_done; exit 1; }
KU=$FAKE_URL
start_fake greenhouse --limit-per-window 100000 || { t_done; exit 1; }
GU=$FAKE_URL
KADM() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$CA" "$@"; }
python3 "$TOP/tests/fakes/admin.py" "$GU" "$CA" POST /_admin/canon/generate '{"people": 30, "seed": 3}' >/dev/null
# the Keap client secret in the file is wrong: the right one comes from the Parameters and
# Secrets extension (ATSRECON_KEAP_CLIENT_SECRET_SSM), so the runs authenticate only through it
python3 "$TOP/tests/fakes/tenant.py" --ats greenhouse --ats-url "$GU" --keap-url "$KU" --ca "$CA" \
	--state "$T_TMP/unused-state" --set state.url='"s3://'$BUCKET'/e2e"' --set state.endpoint="\"$S3_URL\"" \
	--set state.region='"us-east-1"' --set 'guards={"max_creates": 100}' \
	--set 'keap={"base_url": "'"$KU"'/crm/rest", "token_url": "'"$KU"'/token", "client_id": "atsrecon-test-client", "client_secret": "wrong-secret", "max_rps": 50}' \
	>"$T_TMP/e2e.jsonc"
start_fake ssm_extension --no-tls --token "$TOKEN" || { t_done; exit 1; }
SSM_PORT=$FAKE_PORT
curl -sS -X POST -H 'Content-Type: application/json' \
	--data '{"/atsrecon/keap_client_secret": {"value": "atsrecon-test-secret", "type": "SecureString"}}' \
	"http://127.0.0.1:$SSM_PORT/_admin/params" >/dev/null
AWSENV=(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY="$SECRET" AWS_SESSION_TOKEN="$TOKEN" AWS_REGION=us-east-1
	PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$SSM_PORT ATSRECON_KEAP_CLIENT_SECRET_SSM=/atsrecon/keap_client_secret)
expect_rc 0 "check: keap.client_secret from the Parameters and Secrets extension" env "${AWSENV[@]}" \
	"$ATSRECON" check -c "$T_TMP/e2e.jsonc"
check "  shown redacted, its origin the _SSM variable and the parameter" bash -c \
	"grep 'keap.client_secret' '$T_TMP/out' | grep -q '<redacted>.*ATSRECON_KEAP_CLIENT_SECRET_SSM (parameter /atsrecon/keap_client_secret)'"
check "  the value is printed nowhere" bash -c "! grep -q atsrecon-test-secret '$T_TMP/out' '$T_TMP/err'"
expect_rc 3 "an unknown parameter is a configuration error" env "${AWSENV[@]}" \
	ATSRECON_KEAP_CLIENT_SECRET_SSM=/atsrecon/nope "$ATSRECON" check -c "$T_TMP/e2e.jsonc"
check "  naming the parameter" err_has "/atsrecon/nope"
expect_rc 3 "a session token the extension refuses is a configuration error" env "${AWSENV[@]}" \
	AWS_SESSION_TOKEN=not-the-token "$ATSRECON" check -c "$T_TMP/e2e.jsonc"
RTOK=$(KADM POST /_admin/tokens '{}' --get refresh_token)
expect_rc 0 "auth keap stores the refresh token in the S3 state" env "${AWSENV[@]}" \
	"$ATSRECON" auth keap --refresh-token "$RTOK" -c "$T_TMP/e2e.jsonc"
check "the local state directory was never used" test ! -e "$T_TMP/unused-state"
start_runtime || { t_done; exit 1; }
R5=$RT
env "${AWSENV[@]}" AWS_LAMBDA_RUNTIME_API=127.0.0.1:$R5 "$ATSRECON" lambda -c "$T_TMP/e2e.jsonc" \
	>"$T_TMP/e2e.out" 2>"$T_TMP/e2e.err" &
E2E=$!
T_PIDS+=("$E2E")
id=$(invoke "$R5" '{"payload":{},"timeout_ms":120000}')
wait_inv "$R5" "$id" "$T_TMP/e1.json" 120000
check "the first invocation is answered with a response" test "$(jget "$T_TMP/e1.json" 'd["status"]')" = responded
check "  a completed run (some invalid values: record_failures, exit 1), its totals in it (30 candidates)" test \
	"$(jget "$T_TMP/e1.json" 'd["response"]["json"]["status"]+" "+str(d["response"]["json"]["summary"]["totals"]["candidates"])')" = "record_failures 30"
check "Keap got a contact per person" test "$(KADM GET /_admin/state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["contacts"]))')" = 30
check "the state is in S3" bash -c "curl -sS --cacert '$CA' '$S3_URL/_admin/state' | grep -q 'e2e/state.mdb'"
w1=$(KADM GET /_admin/stats --get writes)
id=$(invoke "$R5" '{"payload":{},"timeout_ms":120000}')
wait_inv "$R5" "$id" "$T_TMP/e2.json" 120000
check "the second invocation (a new local copy from S3) runs incrementally and writes nothing" \
	test "$(jget "$T_TMP/e2.json" 'd["response"]["json"]["status"]')" = record_failures -a "$(KADM GET /_admin/stats --get writes)" = "$w1"
check "the rotated Keap refresh token went to S3 with the state (the second run authenticated)" \
	test "$(jget "$T_TMP/e2.json" 'd["response"]["json"]["summary"]["run"]["exit"]')" = 1
check "Lambda's JSON log format" grep -q '"requestId"' "$T_TMP/e2e.err"
check "no credential or token in the logs" bash -c "! grep -q -F -e '$SECRET' -e '$TOKEN' -e '$RTOK' -e atsrecon-test-secret '$T_TMP/e2e.err' '$T_TMP/e2e.out'"
kill "$E2E" 2>/dev/null

# ---- across everything ---------------------------------------------------------------------
for p in "$R1" "$R2" "$R3" "$R4" "$R5"; do
	n=$(radm "$p" GET /_admin/conformance | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	check "no conformance record at runtime :$p" test "$n" = 0
	[ "$n" = 0 ] || radm "$p" GET /_admin/conformance | head -c 600 | sed 's/^/    /'
done
check "the S3 fake never saw an unconditional overwrite" test \
	"$(sadm GET /_admin/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["unconditional_overwrites"])')" = 0
check "no credential in any stub log" bash -c "! grep -q -F -e '$SECRET' -e '$TOKEN' -e '$AKID' $T_TMP/stub-*.log"
check "no sanitizer report from the stubs" bash -c "! grep -q -E 'Sanitizer|runtime error:' $T_TMP/stub-*.log"

t_done
