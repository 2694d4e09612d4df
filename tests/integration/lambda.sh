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
# until the dead run's lease has expired (6 s from its last renewal by the heartbeat,
# which died with it): what the lease object says
lease_end=$(sadm GET "/_admin/object?bucket=$BUCKET&key=lambda%20state/lease" | python3 -c '
import base64, json, sys
print(json.loads(base64.b64decode(json.load(sys.stdin)["body_b64"]))["expires_ms"])')
check "the dead run's lease ends at most 6 s after it was killed" \
	test "$lease_end" -le $(( t_kill / 1000000 + 2500 + 6000 ))
left=$(( lease_end + 300 - $(date +%s%N) / 1000000 ))
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
	--set state.region='"us-east-1"' --set 'guards={"max_creates": 100}' --set run.max_runtime='"10m"' \
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

# ---- issue 16 item 2: a damaged state object in S3 is refused (exit 9), not a crash loop ----
# one byte flipped deep inside the snapshot, its checksum (x-amz-meta-sha256) kept: LMDB
# itself would not notice
sadm GET "/_admin/object?bucket=$BUCKET&key=e2e/state.mdb" >"$T_TMP/good.json"
python3 - "$T_TMP/good.json" "$T_TMP/bad.json" <<'PY'
import base64, json, sys
o = json.load(open(sys.argv[1]))
b = bytearray(base64.b64decode(o["body_b64"]))
b[len(b) - 100] ^= 0x5A
json.dump({"bucket": "atsrecon-test", "key": "e2e/state.mdb", "body_b64": base64.b64encode(b).decode(),
           "metadata": o["metadata"]}, open(sys.argv[2], "w"))
PY
check "defect2_s3_checksum: the saved state carries its SHA-256" test \
	"$(jget "$T_TMP/good.json" 'd["metadata"].get("sha256") == d["sha256"]')" = True
sadm POST /_admin/object "@$T_TMP/bad.json" >/dev/null
w2=$(KADM GET /_admin/stats --get writes)
id=$(invoke "$R5" '{"payload":{},"timeout_ms":120000}')
wait_inv "$R5" "$id" "$T_TMP/e3.json" 120000
check "defect2_s3_checksum: a damaged state is answered with Function.StateError (exit 9)" test \
	"$(jget "$T_TMP/e3.json" 'd["status"]+" "+d.get("error",{}).get("header_type","")+" "+str("(exit 9)" in d.get("error",{}).get("json",{}).get("errorMessage",""))')" \
	= "errored Function.StateError True"
check "  the log says it does not match its checksum, and the fix" \
	grep -q 'does not match its checksum.*Fix: restore an earlier version' "$T_TMP/e2e.err"
check "  nothing was written to Keap" test "$(KADM GET /_admin/stats --get writes)" = "$w2"
check "  the runtime did not crash: it waits for the next invocation" wait_waiting "$R5"
check "  and its lease was released" bash -c "! curl -sS --cacert '$CA' '$S3_URL/_admin/state' | grep -q 'e2e/lease'"
python3 - "$T_TMP/good.json" "$T_TMP/good-put.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
json.dump({"bucket": "atsrecon-test", "key": "e2e/state.mdb", "body_b64": o["body_b64"],
           "metadata": o["metadata"]}, open(sys.argv[2], "w"))
PY
sadm POST /_admin/object "@$T_TMP/good-put.json" >/dev/null
id=$(invoke "$R5" '{"payload":{},"timeout_ms":120000}')
wait_inv "$R5" "$id" "$T_TMP/e4.json" 120000
check "  the intact state put back: the next invocation runs" test \
	"$(jget "$T_TMP/e4.json" 'd["status"]+" "+d["response"]["json"]["status"]')" = "responded record_failures"
kill "$E2E" 2>/dev/null

# ---- issue 16 defect 1: the S3 lease of a long run ------------------------------------------
# check: the lease must outlive the run (file:line of the culprit, exit 3)
python3 "$TOP/tests/fakes/tenant.py" --ats greenhouse --ats-url "$GU" --keap-url "$KU" --ca "$CA" \
	--state "$T_TMP/unused-state" --set state.url='"s3://'$BUCKET'/e2e"' --set state.endpoint="\"$S3_URL\"" \
	--set run.max_runtime='"20m"' --set state.lease_ttl='"15m"' | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("{")
print(",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in d.items()))
print("}")' >"$T_TMP/short-lease.jsonc"
ttl_line=$(grep -n '"lease_ttl"' "$T_TMP/short-lease.jsonc" | cut -d: -f1)
expect_rc 3 "defect1_check_lease_ttl: check refuses state.lease_ttl <= run.max_runtime" env "${AWSENV[@]}" \
	"$ATSRECON" check -c "$T_TMP/short-lease.jsonc"
check "  naming the file and line, both values and the fix" \
	grep -q "short-lease.jsonc:$ttl_line: state.lease_ttl: 900s is not longer than run.max_runtime (1200s, .*set state.lease_ttl above" "$T_TMP/err"
expect_rc 3 "  the same when only run.max_runtime is set (default lease 15m)" env "${AWSENV[@]}" \
	ATSRECON_RUN_MAX_RUNTIME=16m "$ATSRECON" check -c "$T_TMP/e2e.jsonc"
check "  naming ATSRECON_RUN_MAX_RUNTIME" err_has "ATSRECON_RUN_MAX_RUNTIME: run.max_runtime: 960s is not shorter than state.lease_ttl (900s"
expect_rc 0 "  a lease longer than the run passes" env "${AWSENV[@]}" ATSRECON_STATE_LEASE_TTL=25m \
	"$ATSRECON" check -c "$T_TMP/short-lease.jsonc"

# a tenant of its own (a fresh Keap, a fresh prefix): a first run writes every contact
# long_tenant NAME: KU2, the config $T_TMP/NAME.jsonc, its refresh token in the S3 state
long_tenant() {
	start_fake keap || return 1
	KU2=$FAKE_URL
	python3 "$TOP/tests/fakes/tenant.py" --ats greenhouse --ats-url "$GU" --keap-url "$KU2" --ca "$CA" \
		--state "$T_TMP/unused-state" --set state.url='"s3://'$BUCKET'/'$1'"' --set state.endpoint="\"$S3_URL\"" \
		--set state.region='"us-east-1"' --set 'guards={"max_creates": 100}' \
		--set 'keap={"base_url": "'"$KU2"'/crm/rest", "token_url": "'"$KU2"'/token", "client_id": "atsrecon-test-client", "client_secret": "wrong-secret", "max_rps": 50}' \
		>"$T_TMP/$1.jsonc"
	env "${AWSENV[@]}" "$ATSRECON" auth keap -c "$T_TMP/$1.jsonc" --refresh-token \
		"$(python3 "$TOP/tests/fakes/admin.py" "$KU2" "$CA" POST /_admin/tokens '{}' --get refresh_token)" \
		>/dev/null 2>&1 || return 1
	# Keap's writes slowed: the run lasts several lease TTLs
	python3 "$TOP/tests/fakes/admin.py" "$KU2" "$CA" POST /_admin/faults \
		'[{"kind": "delay", "ms": 800, "match": {"method": ["POST", "PATCH", "PUT"], "path": "contacts"}}]' >/dev/null
}
K2ADM() { python3 "$TOP/tests/fakes/admin.py" "$KU2" "$CA" "$@"; }

# jitter sleeps before the lease is taken (a sleeping run holds nothing)
long_tenant long || { not_ok "long tenant"; t_done; exit 1; }
env "${AWSENV[@]}" ATSRECON_STATE_LEASE_TTL=2s ATSRECON_RUN_JITTER=1s ATSRECON_LOG_LEVEL=debug \
	"$ATSRECON" run -c "$T_TMP/long.jsonc" >"$T_TMP/long.out" 2>"$T_TMP/long.err" &
LONG=$!
T_PIDS+=("$LONG")
t0=$(date +%s%N)
tries=0
locked=0
while kill -0 "$LONG" 2>/dev/null; do
	sleep 0.5
	kill -0 "$LONG" 2>/dev/null || break
	grep -q 'lease on .* taken' "$T_TMP/long.err" || continue
	env "${AWSENV[@]}" ATSRECON_STATE_LEASE_TTL=2s "$ATSRECON" run -c "$T_TMP/long.jsonc" \
		>/dev/null 2>>"$T_TMP/second.err"
	rc2=$?
	kill -0 "$LONG" 2>/dev/null || break	# (the first one finished meanwhile)
	tries=$((tries + 1))
	[ "$rc2" = 75 ] && locked=$((locked + 1))
done
wait "$LONG"
rc1=$?
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
jl=$(grep -n 'jitter: starting' "$T_TMP/long.err" | head -1 | cut -d: -f1)
ll=$(grep -n 'lease on .* taken' "$T_TMP/long.err" | head -1 | cut -d: -f1)
check "defect1_jitter_before_lease: the jitter sleeps before the lease is taken (log lines $jl < $ll)" \
	test -n "$jl" -a -n "$ll" -a "${jl:-0}" -lt "${ll:-0}"
check "defect1_lease_heartbeat: a run of ${secs}s with a 2 s lease completes (exit $rc1)" \
	test "$rc1" = 0 -o "$rc1" = 1
check "  it lasted more than 2 lease TTLs" test "$secs" -ge 5
check "  every second runner meanwhile was refused ($locked of $tries exit 75)" test "$tries" -ge 4 -a "$locked" = "$tries"
check "  the heartbeat renewed it" test "$(grep -c 'lease on .* renewed' "$T_TMP/long.err")" -ge 3
check "  a warning said check would refuse the 2 s lease" grep -q 'state.lease_ttl: 2s is not longer than run.max_runtime' "$T_TMP/long.err"
check "  Keap got a contact per person" test "$(K2ADM GET /_admin/state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["contacts"]))')" = 30
check "  its state was saved" bash -c "curl -sS --cacert '$CA' '$S3_URL/_admin/state' | grep -q 'long/state.mdb'"
check "  and its lease released" bash -c "! curl -sS --cacert '$CA' '$S3_URL/_admin/state' | grep -q 'long/lease'"

# the lease taken over mid-run: the run stops writing at once and exits 5
long_tenant stolen || { not_ok "stolen tenant"; t_done; exit 1; }
env "${AWSENV[@]}" ATSRECON_STATE_LEASE_TTL=3s "$ATSRECON" run -c "$T_TMP/stolen.jsonc" \
	>"$T_TMP/stolen.out" 2>"$T_TMP/stolen.err" &
STOLEN=$!
T_PIDS+=("$STOLEN")
for _ in $(seq 1 200); do
	[ "$(K2ADM GET /_admin/stats --get writes)" -ge 6 ] && break
	sleep 0.1
done
sadm GET "/_admin/object?bucket=$BUCKET&key=stolen/state.mdb" >"$T_TMP/st-before.json" 2>/dev/null
sadm POST /_admin/object '{"bucket": "'$BUCKET'", "key": "stolen/lease", "text": "{\"owner\":\"0000cafe\",\"host\":\"thief\",\"pid\":99,\"expires_ms\":'$(( $(date +%s) * 1000 + 600000 ))'}"}' >/dev/null
w_theft=$(K2ADM GET /_admin/stats --get writes)
t0=$(date +%s%N)
wait "$STOLEN"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
w_end=$(K2ADM GET /_admin/stats --get writes)
check "defect1_lease_stolen: the run exits 5 (exit $rc, ${ms} ms after the theft)" test "$rc" = 5
check "  within a renewal (1 s) and the writes in flight" test "$ms" -lt 4000
check "  saying the lease was taken over, by whom" grep -q 'taken over by another run (host thief pid 99)' "$T_TMP/stolen.err"
check "  writing stopped: $((w_end - w_theft)) writes after the theft (a renewal's worth), far from all" \
	test "$((w_end - w_theft))" -le 16 -a "$(K2ADM GET /_admin/state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["contacts"]))')" -lt 30
check "  its state was not saved over the new holder's" test \
	"$(sadm GET "/_admin/object?bucket=$BUCKET&key=stolen/state.mdb" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("etag"))' 2>/dev/null)" \
	= "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("etag"))' "$T_TMP/st-before.json" 2>/dev/null)"
check "  the thief's lease is left alone" bash -c "curl -sS --cacert '$CA' '$S3_URL/_admin/state' | grep -q 'stolen/lease'"
check "  the report says why" grep -q 'taken over by another run' "$T_TMP/stolen.out"

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
