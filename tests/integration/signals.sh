#!/usr/bin/env bash
# Integration: stopping on request. SIGTERM mid-apply: the writes in flight
# finish, the run checkpoints, writes its report and exits 5; the resumed run
# reaches the same Keap state as an uninterrupted one, with no duplicate and no
# lost repair. A second signal ends the process at once (and the journal still
# makes the next run correct). --jitter sleeps before the lock and a SIGTERM
# during the sleep exits 5 at once.
. "$(dirname "$0")/../lib.sh"

start_tenant --set 'guards={"max_creates": 1000, "max_change_percent": 100}' --set keap.max_rps=100 --set keap.concurrency=4 ||
	{ t_done; exit 1; }
# every contact as an email-keyed world: who has how many contacts, and what they hold
keap_world() {
	kadm GET /_admin/state | python3 -c '
import json, sys
s = json.load(sys.stdin)
tags = {str(t["id"]): t["name"] for t in s["tags"]}
rows = sorted(json.dumps([sorted(e["email"].strip().lower() for e in c.get("email_addresses") or []),
                          c.get("given_name"), c.get("family_name"),
                          sorted(tags.get(str(t), "") for t in c.get("tag_ids") or [])])
              for c in s["contacts"])
print(len(rows), len(set(rows)))
print("\n".join(rows))'
}

gadm POST /_admin/canon/generate '{"people": 120, "seed": 4}' >/dev/null || not_ok "seed people"
RT=$(kadm POST /_admin/tokens '{}' --get refresh_token)
expect_rc 0 "bootstrap Keap tokens" "$ATSRECON" auth keap --refresh-token "$RT" -c "$CFG"
cp -r "$ST" "$T_TMP/state0"
kadm GET /_admin/state >"$T_TMP/keap0.json"
restore_keap() {
	python3 - "$KU" "$CA" "$T_TMP/keap0.json" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = open(sys.argv[3], "rb").read()
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_admin/state", data=body, method="POST"),
                       context=ctx, timeout=60).read()
PY
}

# --- the reference: one uninterrupted run
run "$ATSRECON" run -c "$CFG" --log-format json
check "the uninterrupted run creates everyone (exit 0 or 1)" test "$RC" = 0 -o "$RC" = 1
REF_RC=$RC
keap_world >"$T_TMP/ref.txt"

# --- the same world again, stopped by SIGTERM while it writes (every Keap write slowed)
restore_keap
rm -rf "$ST" && cp -r "$T_TMP/state0" "$ST"
kadm POST /_admin/faults '[{"kind": "delay", "ms": 300, "match": {"method": ["POST", "PATCH"], "path": "contacts"}}]' >/dev/null
"$ATSRECON" run -c "$CFG" --log-format json >"$T_TMP/stopped.out" 2>"$T_TMP/stopped.err" &
PID=$!
for _ in $(seq 1 300); do	# until the first write has landed
	[ "$(kadm GET /_admin/stats --get writes)" -gt 2 ] && break
	sleep 0.05
done
kill -TERM "$PID"
T0=$(date +%s%N)
wait "$PID"
RC=$?
T1=$(date +%s%N)
check "SIGTERM mid-apply: exit 5 (deferred)" test "$RC" = 5
check "it stopped within the grace (10 s), in $(((T1 - T0) / 1000000)) ms" test $(((T1 - T0) / 1000000)) -lt 12000
check "the report says it was stopped by a signal" grep -q "stopped by signal 15" "$ST/reports/report.json"
check "fewer than all contacts were written before the stop" \
	test "$(kadm GET /_admin/stats --get writes)" -lt "$(head -1 "$T_TMP/ref.txt" | cut -d' ' -f1)"
kadm POST /_admin/faults '[]' >/dev/null
run "$ATSRECON" run -c "$CFG" --log-format json
check "the resumed run finishes (exit $REF_RC as the reference)" test "$RC" = "$REF_RC"
keap_world >"$T_TMP/resumed.txt"
check "the same Keap state as the uninterrupted run" cmp -s "$T_TMP/ref.txt" "$T_TMP/resumed.txt"
check "no duplicate contact" bash -c "read n d < '$T_TMP/resumed.txt'; test \"\$n\" = \"\$d\""
run "$ATSRECON" run -c "$CFG" --log-format json
check "and a further run writes nothing new" cmp -s "$T_TMP/ref.txt" <(keap_world)

# --- a second signal: at once
gadm POST /_admin/canon/generate '{"people": 60, "seed": 5}' >/dev/null
kadm POST /_admin/faults '[{"kind": "delay", "ms": 4000, "match": {"method": ["POST", "PATCH"], "path": "contacts"}}]' >/dev/null
w0=$(kadm GET /_admin/stats --get writes)
# (generated people carry old update times: a full sweep finds them)
"$ATSRECON" run -c "$CFG" --full --log-format json >"$T_TMP/hard.out" 2>"$T_TMP/hard.err" &
PID=$!
for _ in $(seq 1 300); do	# until it writes (each write now takes 2 s)
	[ "$(kadm GET /_admin/stats --get writes)" -gt "$w0" ] && break
	sleep 0.05
done
kill -TERM "$PID"
sleep 0.05	# writes in flight take 4 s: the first signal leaves it working
T0=$(date +%s%N)
kill -TERM "$PID"
wait "$PID"
RC=$?
T1=$(date +%s%N)
check "a second SIGTERM ends it at once (killed by the signal: 143), in $(((T1 - T0) / 1000000)) ms" \
	test "$RC" = 143 -a $(((T1 - T0) / 1000000)) -lt 1500
kadm POST /_admin/faults '[]' >/dev/null
run "$ATSRECON" run -c "$CFG" --full --log-format json
check "the next run after the hard stop completes (exit 0 or 1)" test "$RC" = 0 -o "$RC" = 1
n_d=$(keap_world | head -1)
check "everyone has a contact after the hard stop ($n_d)" test "$(echo "$n_d" | cut -d' ' -f1)" = 180
check "no duplicate contact after the hard stop ($n_d)" test "$(echo "$n_d" | cut -d' ' -f1)" = "$(echo "$n_d" | cut -d' ' -f2)"

# --- jitter: sleeps before the lock; SIGTERM during the sleep exits 5 at once
"$ATSRECON" run -c "$CFG" --jitter 1h --log-format json >"$T_TMP/j.out" 2>"$T_TMP/j.err" &
PID=$!
sleep 0.5
check "while it sleeps, the state lock is free (taken only after the jitter)" flock -n "$ST/lock" true
check "the jitter is logged" grep -q "jitter: starting in" "$T_TMP/j.err"
kill -TERM "$PID"
wait "$PID"
check "SIGTERM during the jitter: exit 5" test "$?" = 5

t_done
