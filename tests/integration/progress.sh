#!/usr/bin/env bash
# Integration: the progress line. On a terminal (a real one: tmux, capture-pane)
# a run shows "atsrecon: <phase> n/m · rate · quota left · ETA" while it works,
# erases it before the summary, and --quiet shows none; in a pipe or a file
# there is never a control character, and the progress never reaches the logs.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { not_ok "tmux is not installed (build.sh test installs it)"; t_done; exit 1; }
start_tenant --set 'guards={"max_creates": 1000, "max_change_percent": 100}' --set keap.max_rps=100 ||
	{ t_done; exit 1; }
gadm POST /_admin/canon/generate '{"people": 40, "seed": 9}' >/dev/null || not_ok "seed"
RT=$(kadm POST /_admin/tokens '{}' --get refresh_token)
expect_rc 0 "bootstrap Keap tokens" "$ATSRECON" auth keap --refresh-token "$RT" -c "$CFG"
# slow writes, so the display is on the screen long enough to be seen
kadm POST /_admin/faults '[{"kind": "delay", "ms": 250, "match": {"method": ["POST", "PATCH"], "path": "contacts"}}]' >/dev/null

SOCK="$T_TMP/tmux.sock"
tmux -S "$SOCK" new-session -d -x 160 -y 40 \
	"'$ATSRECON' run -c '$CFG' --log-level warn --log-format text; echo EXIT=\$?; sleep 30"
T_PIDS+=("$(tmux -S "$SOCK" display -p '#{pid}')")
seen=""
all=""
for _ in $(seq 1 200); do
	screen=$(tmux -S "$SOCK" capture-pane -p)
	line=$(printf '%s\n' "$screen" | grep -m1 'atsrecon: writing contacts [0-9]*/[0-9]*' || true)
	[ -n "$line" ] && seen=$line && all="$all$line
"
	printf '%s\n' "$screen" | grep -q 'EXIT=' && break
	sleep 0.1
done
screen=$(tmux -S "$SOCK" capture-pane -p)
tmux -S "$SOCK" kill-server 2>/dev/null
echo "# progress seen: $seen"
check "on a terminal the progress line shows the writes done of planned" test -n "$seen"
check "with a rate and, while writes are left, an ETA" bash -c "printf '%s' \"\$1\" | grep -q '/s' && printf '%s' \"\$1\" | grep -q 'ETA'" _ "$all"
check "the run finished (exit 0 or 1)" bash -c "printf '%s' \"\$1\" | grep -q -E 'EXIT=(0|1)'" _ "$screen"
check "the line is erased before the summary" bash -c "! printf '%s' \"\$1\" | grep -q 'atsrecon: writing contacts'" _ "$screen"
check "the summary is on the screen" bash -c "printf '%s' \"\$1\" | grep -q 'Accuracy'" _ "$screen"

# --quiet on a terminal: no progress
gadm POST /_admin/canon/generate '{"people": 20, "seed": 10}' >/dev/null
tmux -S "$SOCK" new-session -d -x 160 -y 40 \
	"'$ATSRECON' run -c '$CFG' --full --quiet; echo EXIT=\$?; sleep 30"
seen=""
for _ in $(seq 1 200); do
	screen=$(tmux -S "$SOCK" capture-pane -p)
	printf '%s\n' "$screen" | grep -q 'atsrecon: ' && seen=1
	printf '%s\n' "$screen" | grep -q 'EXIT=' && break
	sleep 0.1
done
tmux -S "$SOCK" kill-server 2>/dev/null
check "--quiet: no progress line on the terminal" test -z "$seen"

# not a terminal: no control characters anywhere, no progress in the logs
gadm POST /_admin/canon/generate '{"people": 20, "seed": 11}' >/dev/null
"$ATSRECON" run -c "$CFG" --full --log-format text >"$T_TMP/out.txt" 2>"$T_TMP/err.txt"
check "a run into files exits 0 or 1" test "$?" -le 1
check "no control characters in stdout or stderr" bash -c "! LC_ALL=C grep -q -P '[\x00-\x08\x0b-\x1f\x7f]' '$T_TMP/out.txt' '$T_TMP/err.txt'"
check "no progress text in the logs" bash -c "! grep -q 'atsrecon: writing' '$T_TMP/err.txt'"
kadm POST /_admin/faults '[]' >/dev/null

# --- the run's metrics and alert, end to end: the textfile checked by the real
# promtool, the alert received by a local webhook receiver
if BIN=$(bash "$TOP/ci/ops-tools.sh" --print-dir 2>"$T_TMP/ops.err"); then
	start_fake receiver || { t_done; exit 1; }
	RU=$FAKE_URL
	gadm POST /_admin/canon/add '{"first_name": "Di", "last_name": "Evans", "emails": ["di@example.com"],
		"stage": "Offer", "source": "Meetups"}' >/dev/null	# an invalid value: exit 1
	ATSRECON_METRICS_TEXTFILE="$T_TMP/atsrecon.prom" ATSRECON_ALERT_WEBHOOK_URL="$RU/hooks/T000/B000/XXXX" \
		ATSRECON_ALERT_MAX_FAILED_PCT=0 ATSRECON_ALERT_MIN_ACCURACY_PCT=100 \
		"$ATSRECON" run -c "$CFG" --full --log-format json >"$T_TMP/m.out" 2>"$T_TMP/m.err"
	check "a run with an invalid value exits 1" test "$?" = 1
	check "the metrics textfile is written" test -s "$T_TMP/atsrecon.prom"
	"$BIN/promtool" check metrics <"$T_TMP/atsrecon.prom" >"$T_TMP/pt.out" 2>&1
	check "promtool check metrics accepts the run's metrics, without lint messages" \
		test "$?" = 0 -a ! -s "$T_TMP/pt.out"
	check "the metrics carry the run's exit status and accuracy" bash -c \
		"grep -q '^atsrecon_last_run_exit_status 1' '$T_TMP/atsrecon.prom' && grep -q 'atsrecon_last_run_accuracy_ratio{phase=\"after\"}' '$T_TMP/atsrecon.prom'"
	python3 "$TOP/tests/fakes/admin.py" "$RU" "$CA" GET /_admin/received >"$T_TMP/hooks.json"
	check "the alert reached the webhook (accuracy below alert.min_accuracy_pct)" grep -q 'min_accuracy_pct' "$T_TMP/hooks.json"
	check "no unmasked email in the alert" bash -c "! grep -q 'di@example.com' '$T_TMP/hooks.json'"
	check "the webhook URL (a secret) is not in the logs" bash -c "! grep -q 'T000/B000' '$T_TMP/m.err' '$T_TMP/m.out'"
else
	not_ok "promtool is available (ci/ops-tools.sh): $(tail -1 "$T_TMP/ops.err")"
fi
t_done
