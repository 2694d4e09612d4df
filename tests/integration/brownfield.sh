#!/usr/bin/env bash
# Integration: a Keap another tool filled (issue 15). For each source (Greenhouse, Lever,
# Ashby, the export file) tests/fakes/seed_brownfield.py builds the ATS and the Keap a
# Make/Zapier scenario would have left after a year (the ATS's own ids, typed phones,
# MM/DD/YYYY dates, whole-second times, email case, two stage tags, Keap-owned lists and
# fields, marketing contacts, then ATS deletes, anonymisations, merges, email changes,
# missing contacts and a controlled set of real drift) with a manifest of the outcome
# DESIGN.md §4/§5 demands. Then:
#   brownfield  ONE `run --full`: 100.0 % field agreement, exactly the missing contacts
#               created, 0 duplicates, 0 deletes, 0 writes to Keap-owned data, only
#               contacts with real drift written, lifecycle tags; a second run writes 0
#   noise       Keap differs only by spelling noise: the first run writes 0
#   warm        an undrifted world (first run writes 0), then drift stamped after it: the
#               next incremental run repairs it and tags a contact typed in Keap with a
#               linked candidate's email; the next --full archives what only it can see
# Prints per source: agreement, writes, creates, duplicates, deletes.
# BF_N candidates per source (default 2000); BF_SOURCES or SCN_KINDS limit the sources.
. "$(dirname "$0")/../lib.sh"

N=${BF_N:-2000}
SOURCES=${BF_SOURCES:-${SCN_KINDS:-greenhouse,lever,ashby,file}}
SOURCES=${SOURCES//,/ }
NN=$((N / 4))
NW=$((N / 8))
[ "$NW" -lt 40 ] && NW=40

start_fake keap --rps 2000 --per-minute 1000000 --tenant-per-minute 1000000 \
	--idle-timeout 600 --max-lifetime 1800 || { t_done; exit 1; }
KU=$FAKE_URL
declare -A URL
for k in greenhouse lever ashby; do
	case " $SOURCES " in *" $k "*) ;; *) continue ;; esac
	extra=()
	[ "$k" = greenhouse ] && extra=(--limit-per-window 1000000)
	[ "$k" = ashby ] && extra=(--limit-per-window 1000000)
	[ "$k" = lever ] && extra=(--rps 1000 --burst 1000)
	start_fake "$k" --idle-timeout 600 --max-lifetime 1800 "${extra[@]}" || { t_done; exit 1; }
	URL[$k]=$FAKE_URL
done
kadm() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$CA" "$@"; }

# pycheck ARGS...: runs a seed_brownfield.py checker, adds its ok / not ok lines to ours
pycheck() {
	local line
	"$@" >"$T_TMP/chk" 2>&1
	grep -q -E '^[0-9]+ passed, [0-9]+ failed$' "$T_TMP/chk" || not_ok "checker $*: no result"
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*" passed, "*" failed") ;;
		*) echo "$line" ;;
		esac
	done <"$T_TMP/chk"
}

# world KIND VARIANT N: fresh fakes, state and config; seeds; sets SB (the tool with the
# world's arguments) and CFG
world() {
	local k=$1 variant=$2 n=$3 rt label=$2
	[ "$variant" = clean ] && label=warm
	W="$T_TMP/$k-$variant"
	rm -rf "$W"
	mkdir -p "$W"
	kadm POST /_admin/state '{}' >/dev/null || not_ok "reset Keap"
	[ "$k" != file ] && { python3 "$TOP/tests/fakes/admin.py" "${URL[$k]}" "$CA" POST /_admin/state '{}' \
		>/dev/null || not_ok "reset $k"; }
	SB=(python3 "$TOP/tests/fakes/seed_brownfield.py" --ats "$k" --ats-url "${URL[$k]:-}" --keap-url "$KU"
		--ca "$CA" --file "$W/export.csv" -m "$W/manifest.json" --label "$k/$label")
	CFG="$W/atsrecon.json"
	"${SB[@]}" config --state "$W/state" >"$CFG" || not_ok "$k: config"
	"${SB[@]}" seed --variant "$variant" --candidates "$n" || not_ok "$k/$label: seed"
	rt=$(kadm POST /_admin/tokens '{}' --get refresh_token)
	expect_rc 0 "$k/$label: store the Keap tokens" "$ATSRECON" auth keap --refresh-token "$rt" -c "$CFG"
}
arun() {	# arun DESC ARGS...: an atsrecon run; exit 0 or 1 (record-level) is a finished run
	local desc=$1 t0=$SECONDS
	shift
	run "$ATSRECON" run -c "$CFG" --log-format json "$@"
	if [ "$RC" = 0 ] || [ "$RC" = 1 ]; then
		ok "$desc finished (exit $RC, $((SECONDS - t0)) s)"
	else
		not_ok "$desc: exit $RC"
		tail -c 600 "$T_TMP/err" | sed 's/^/    /'
	fi
}
writes_since_snap() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snap"]["writes"])' "$W/manifest.json"
}
second_run_zero() {	# second_run_zero DESC: snap, run, 0 writes
	local w0
	"${SB[@]}" snap
	w0=$(writes_since_snap)
	arun "$1" "${@:2}"
	check "$1 writes 0 (wrote $(($(kadm GET /_admin/stats --get writes) - w0)))" \
		test "$(kadm GET /_admin/stats --get writes)" = "$w0"
}

SUMMARY=()
for k in $SOURCES; do
	echo "# --- $k: brownfield, $N candidates"
	world "$k" brownfield "$N"
	arun "$k/brownfield: ONE run --full" --full
	pycheck "${SB[@]}" check
	SUMMARY+=("$(grep '^# .*agreement' "$T_TMP/chk" | sed 's/^# //')")
	second_run_zero "$k/brownfield: the second run"
	second_run_zero "$k/brownfield: a --full after it" --full
	check "$k/brownfield: no Keap request failed the API's schema" test "$(kadm GET /_admin/conformance)" = "[]"

	echo "# --- $k: noise only, $NN candidates"
	world "$k" noise "$NN"
	arun "$k/noise: the first run"
	pycheck "${SB[@]}" check
	SUMMARY+=("$(grep '^# .*agreement' "$T_TMP/chk" | sed 's/^# //')")

	echo "# --- $k: warm path, $NW candidates"
	world "$k" clean "$NW"
	arun "$k/warm: the first run on an undrifted world"
	pycheck "${SB[@]}" check
	SUMMARY+=("$(grep '^# .*agreement' "$T_TMP/chk" | sed 's/^# //')")
	"${SB[@]}" drift || not_ok "$k/warm: drift"
	sleep 1
	arun "$k/warm: the next incremental run"
	pycheck "${SB[@]}" check-later
	arun "$k/warm: the next --full" --full
	pycheck "${SB[@]}" check-later-full
	second_run_zero "$k/warm: a run after that"
done

echo "# summary (N=$N; noise-only N=$NN; warm path N=$NW; binary $ATSRECON):"
for s in "${SUMMARY[@]}"; do echo "#   $s"; done
t_done
