#!/usr/bin/env bash
# tests/valgrind.sh — valgrind's memcheck over the unit tests and one engine
# scenario, with the glibc build that has no sanitizers (build/valgrind/,
# `./build.sh valgrind` builds it; memcheck cannot run ASan binaries).
#
# Every process must end with "ERROR SUMMARY: 0 errors": invalid reads and
# writes, uses of uninitialised values, bad frees, and DEFINITE leaks (counted
# as errors here; "still reachable" memory at exit is not a defect). The unit
# tests need the fakes tests/run.sh starts (ATSRECON_TEST_*); run it as
# `tests/run.sh valgrind`. One check per unit test binary, one for the
# scenario; ends with "valgrind: N passed, N failed".
. "$(dirname "$0")/lib.sh"
VBIN=${VALGRIND_BUILD:-$TOP/build/valgrind}
VLOG=$TOP/build/valgrind/logs
rm -rf "$VLOG"
mkdir -p "$VLOG"
command -v valgrind >/dev/null || { not_ok "valgrind is not installed (./build.sh valgrind installs it)"; t_done; exit 1; }
export ATSRECON_TEST_VALGRIND=1	# tests that measure memory skip that check
VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --num-callers=30 --track-origins=no)

# vg_clean DIR: every log in DIR says 0 errors; prints the figures.
vg_clean() {
	local dir=$1 f bad=0 n=0 killed=0 lost
	for f in "$dir"/*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY' "$f"; then
			# a forked child the test killed (SIGKILL leaves no summary)
			killed=$((killed + 1))
		elif ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
			bad=$((bad + 1))
			echo "    $(grep -m1 'ERROR SUMMARY' "$f") in $f"
			grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|.*definitely lost)' "$f" |
				head -n 5 | sed 's/^/    /'
		fi
	done
	lost=$(cat "$dir"/*.log 2>/dev/null | sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' |
		tr -d , | awk '{s += $1} END {print s + 0}')
	echo "    memcheck: $n processes ($killed killed before exit), $bad with errors, $lost bytes definitely lost"
	[ "$bad" = 0 ] && [ "$n" -gt 0 ]
}

PARTS=${VALGRIND_PARTS:-units scenario}	# what to run (both by default)
for t in "$VBIN"/tests/test_*; do
	[[ " $PARTS " == *" units "* ]] || break
	[ -x "$t" ] || continue
	name=$(basename "$t")
	d="$VLOG/$name"
	mkdir -p "$d"
	t0=$(date +%s)
	"${VG[@]}" --trace-children=no --log-file="$d/%p.log" "$t" >"$d/out" 2>&1 </dev/null
	rc=$?
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$d/out" | tail -n 1)
	if [ "$rc" = 0 ] && vg_clean "$d"; then
		ok "$name under memcheck: $line ($(($(date +%s) - t0)) s)"
	else
		not_ok "$name under memcheck: exit $rc, $line"
		grep '^not ok' "$d/out" | head -5 | sed 's/^/    /'
	fi
done

# One engine scenario (a missing contact created, on Greenhouse) with the
# binary under memcheck: every atsrecon process the scenario runs. One kill
# point of each kind (a killed process leaves no summary; its resumed run
# does).
d="$VLOG/scenario"
mkdir -p "$d"
cat >"$T_TMP/atsrecon-vg" <<WRAP
#!/bin/sh
exec ${VG[*]} --log-file=$d/%p.log $VBIN/atsrecon "\$@"
WRAP
chmod +x "$T_TMP/atsrecon-vg"
if [[ " $PARTS " == *" scenario "* ]] && start_fake keap && KU=$FAKE_URL &&
	start_fake greenhouse --limit-per-window 100000; then
	t0=$(date +%s)
	python3 "$TOP/tests/scenarios/run.py" --bin "$T_TMP/atsrecon-vg" --keap "$KU" --ca "$CA" \
		--work "$T_TMP/scn" --kinds greenhouse --ats "greenhouse=$FAKE_URL" \
		--only "${VALGRIND_SCENARIO:-01_missing_contact}" --kill-max 1 >"$d/out" 2>&1
	rc=$?
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$d/out" | tail -n 1)
	if [ "$rc" = 0 ] && vg_clean "$d"; then
		ok "scenario ${VALGRIND_SCENARIO:-01_missing_contact} under memcheck: $line ($(($(date +%s) - t0)) s)"
	else
		not_ok "scenario under memcheck: exit $rc, $line"
		tail -n 5 "$d/out" | sed 's/^/    /'
	fi
fi
t_done
