#!/usr/bin/env bash
# Integration: the Prometheus metrics (src/metrics.c) against the real tools
# from Debian (ci/ops-tools.sh unpacks them when they are missing):
#
#  1. `promtool check metrics` (the exposition-format parser and Prometheus'
#     own naming linter) is silent on a textfile written by metrics_emit for a
#     run whose labels are hostile (quotes, backslashes, a newline, invalid
#     UTF-8), and the file holds what the metric list promises;
#  2. the same check fails on a file made wrong (a gauge named _total, a
#     metric without HELP, an unescaped quote): it can fail;
#  3. a real prometheus-pushgateway, started here on 127.0.0.1 with a random
#     port under `timeout` (it stops by itself), receives the PUT: GET /metrics
#     shows our series under job="atsrecon" and the instance (base64-encoded
#     in the URL when it holds a slash or a space), no push failure, and a
#     second push replaces the group (a field of the first push is gone).
#
# The metrics are written by the unit test binary's driver mode
# (build/dev/tests/test_metrics with ATSRECON_TEST_METRICS_OUT /
# ATSRECON_TEST_PUSHGATEWAY), so this test needs the dev build (./build.sh dev).
. "$(dirname "$0")/../lib.sh"

DRIVER=${METRICS_DRIVER:-$TOP/build/dev/tests/test_metrics}
if ! BIN=$(bash "$TOP/ci/ops-tools.sh" --print-dir 2>"$T_TMP/ops.err"); then
	not_ok "promtool and prometheus-pushgateway are available (ci/ops-tools.sh)"
	sed 's/^/    /' "$T_TMP/ops.err"
	t_done
	exit 1
fi
ok "promtool and prometheus-pushgateway are available ($BIN)"
PROMTOOL=$BIN/promtool
PUSHGW=$BIN/prometheus-pushgateway
check "the metrics driver is built ($DRIVER)" test -x "$DRIVER"

# --- 1. a textfile, checked by promtool
PROM="$T_TMP/textfile/atsrecon.prom"
mkdir -p "$T_TMP/textfile"
expect_rc 0 "the driver writes the textfile" env ATSRECON_TEST_METRICS_OUT="$PROM" "$DRIVER"
# promcheck FILE: `promtool check metrics <FILE` through run (whose stdin is /dev/null)
promcheck() { run bash -c '"$1" check metrics <"$2"' _ "$PROMTOOL" "$1"; }
check "the driver's own checks passed" grep -q -E '^metrics: [0-9]+ passed, 0 failed$' "$T_TMP/out"
check "the textfile exists and is not empty" test -s "$PROM"
check "the textfile is mode 0644 (node_exporter reads it)" test "$(stat -c %a "$PROM")" = 644
check "no temporary file is left next to it" test "$(ls -A "$T_TMP/textfile" | wc -l)" = 1
promcheck "$PROM"
check "promtool check metrics accepts the textfile (exit $RC)" test "$RC" = 0
check "promtool has no lint message" test ! -s "$T_TMP/err" -a ! -s "$T_TMP/out"
[ -s "$T_TMP/err" ] && sed 's/^/    promtool: /' "$T_TMP/err" | head -10
check "the hostile field label is escaped on one line" grep -q -F \
	'field="custom:Quote\" back\\slash\nnew line ' "$PROM"
check "every line is a comment or an atsrecon_ sample" \
	bash -c '! grep -v -E "^(# (HELP|TYPE) atsrecon_|atsrecon_)" "$1"' _ "$PROM"
families=$(grep -c '^# TYPE ' "$PROM")
check "$families metric families, each a gauge" test "$families" -ge 20 -a \
	"$(grep -c '^# TYPE atsrecon_[a-z0-9_]* gauge$' "$PROM")" = "$families"
check "each family has one HELP" test "$(grep -c '^# HELP ' "$PROM")" = "$families"
check "no _total name (no counters: per-run gauges)" bash -c '! grep -q "_total[ {]" "$1"' _ "$PROM"
for m in atsrecon_last_success_timestamp_seconds atsrecon_last_run_duration_seconds \
	atsrecon_last_run_exit_status 'atsrecon_last_run_candidates{state="failed"}' \
	'atsrecon_last_run_accuracy_ratio{phase="after"}' 'atsrecon_last_run_drift_rows{kind="field_mismatch"}' \
	'atsrecon_last_run_api_requests{endpoint="PATCH /v2/contacts/{id}",class="429"}' \
	atsrecon_last_run_http_retries atsrecon_last_run_http_throttled_responses \
	atsrecon_keap_quota_remaining atsrecon_keap_refresh_token_expiry_timestamp_seconds; do
	check "the textfile has $m" grep -q -F "$m " "$PROM"
done

# --- 2. the check can fail
sed 's/^atsrecon_last_run_http_retries /atsrecon_last_run_http_retries_total /;
	s/^# TYPE atsrecon_last_run_http_retries gauge/# TYPE atsrecon_last_run_http_retries_total gauge/;
	s/^# HELP atsrecon_last_run_http_retries .*/# HELP atsrecon_last_run_http_retries_total x/;
	/^# HELP atsrecon_last_run_exit_status /d' "$PROM" >"$T_TMP/lint.prom"
promcheck "$T_TMP/lint.prom"
check "promtool flags a gauge named _total and a missing HELP (exit $RC)" \
	bash -c '[ "$1" != 0 ] && grep -q "should not have \"_total\" suffix" "$2" && grep -q "no help text" "$2"' \
	_ "$RC" "$T_TMP/err"
sed 's/field="custom:Quote\\" back/field="custom:Quote" back/' "$PROM" >"$T_TMP/broken.prom"
promcheck "$T_TMP/broken.prom"
check "promtool rejects an unescaped quote in a label value (exit $RC)" test "$RC" != 0

# --- 3. a real Pushgateway
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
get() { curl -s -f --max-time 5 "$1"; }
PG=""
for attempt in 1 2 3; do
	port=$(free_port)
	timeout 300 "$PUSHGW" --web.listen-address="127.0.0.1:$port" >>"$T_TMP/pushgateway.log" 2>&1 &
	T_PIDS+=($!)
	for _ in $(seq 1 100); do
		get "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && { PG="http://127.0.0.1:$port"; break; }
		sleep 0.05
	done
	[ -n "$PG" ] && break
done
if [ -z "$PG" ]; then
	not_ok "prometheus-pushgateway starts on 127.0.0.1"
	tail -5 "$T_TMP/pushgateway.log" | sed 's/^/    /'
	t_done
	exit 1
fi
ok "prometheus-pushgateway $("$PUSHGW" --version 2>&1 | awk 'NR == 1 { print $3 }') listens on $PG (stops by itself within 300 s)"

expect_rc 0 "push as instance acme-eu" env ATSRECON_TEST_PUSHGATEWAY="$PG" \
	ATSRECON_TEST_METRICS_INSTANCE=acme-eu ATSRECON_TEST_METRICS_FIELD=custom:Old "$DRIVER"
check "the driver's own checks passed (push RC_OK)" grep -q -E '^metrics: [0-9]+ passed, 0 failed$' "$T_TMP/out"
get "$PG/metrics" >"$T_TMP/pg1.txt"
check "the Pushgateway serves our exit status with job and instance" grep -q -x -F \
	'atsrecon_last_run_exit_status{instance="acme-eu",job="atsrecon"} 1' "$T_TMP/pg1.txt"
check "... the last success time" grep -q -x -F \
	'atsrecon_last_success_timestamp_seconds{instance="acme-eu",job="atsrecon"} 1.767607212345e+09' "$T_TMP/pg1.txt"
check "... the hostile label, escaped as we sent it" grep -q -F \
	'field="custom:Quote\" back\\slash\nnew line ' "$T_TMP/pg1.txt"
check "... the first push's extra field" grep -q -F 'field="custom:Old",instance="acme-eu"' "$T_TMP/pg1.txt"
check "the push did not fail (push_failure_time_seconds 0)" grep -q -x -F \
	'push_failure_time_seconds{instance="acme-eu",job="atsrecon"} 0' "$T_TMP/pg1.txt"
check "and succeeded (push_time_seconds set)" grep -q -E \
	'^push_time_seconds\{instance="acme-eu",job="atsrecon"\} [1-9]' "$T_TMP/pg1.txt"
n1=$(grep -c 'instance="acme-eu"' "$T_TMP/pg1.txt")

expect_rc 0 "push again as acme-eu (PUT replaces the group)" env ATSRECON_TEST_PUSHGATEWAY="$PG" \
	ATSRECON_TEST_METRICS_INSTANCE=acme-eu ATSRECON_TEST_METRICS_FIELD=custom:New "$DRIVER"
get "$PG/metrics" >"$T_TMP/pg2.txt"
check "the second push's field is there" grep -q -F 'field="custom:New",instance="acme-eu"' "$T_TMP/pg2.txt"
check "the first push's field is gone" bash -c '! grep -q -F "field=\"custom:Old\"" "$1"' _ "$T_TMP/pg2.txt"
check "the group has as many series as before ($n1)" test "$(grep -c 'instance="acme-eu"' "$T_TMP/pg2.txt")" = "$n1"

expect_rc 0 "push as an instance with a slash and a space (base64 in the URL)" env \
	ATSRECON_TEST_PUSHGATEWAY="$PG/" ATSRECON_TEST_METRICS_INSTANCE="acme/eu west" "$DRIVER"
get "$PG/metrics" >"$T_TMP/pg3.txt"
check "the Pushgateway decoded the instance" grep -q -x -F \
	'atsrecon_last_run_exit_status{instance="acme/eu west",job="atsrecon"} 1' "$T_TMP/pg3.txt"
check "the other tenant's group is untouched" grep -q -x -F \
	'atsrecon_last_run_exit_status{instance="acme-eu",job="atsrecon"} 1' "$T_TMP/pg3.txt"
promcheck "$T_TMP/pg3.txt"
check "what the Pushgateway serves, ours and its own, passes promtool (exit $RC)" \
	test "$RC" = 0 -a ! -s "$T_TMP/err"

t_done
