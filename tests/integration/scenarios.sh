#!/usr/bin/env bash
# Integration: the declarative scenario suite (tests/scenarios/*.scn, run by
# tests/scenarios/run.py) on every source whose fake exists: one scenario per
# drift kind and owner kind, each with a kill after every write and commit of
# the run under test and a resumed run that must reach the same Keap state.
# Usage (alone): ATSRECON=./atsrecon bash tests/integration/scenarios.sh [--only NAME]
. "$(dirname "$0")/../lib.sh"

start_fake keap --idle-timeout 600 --max-lifetime 3000 || { t_done; exit 1; }
KU=$FAKE_URL
SOURCES=()
for kind in greenhouse lever ashby; do
	[ -f "$TOP/tests/fakes/$kind.py" ] || continue
	extra=()
	[ "$kind" = greenhouse ] && extra=(--limit-per-window 100000)
	start_fake "$kind" --idle-timeout 600 --max-lifetime 3000 "${extra[@]}" || { t_done; exit 1; }
	SOURCES+=(--ats "$kind=$FAKE_URL")
done
grep -q '"file"' "$TOP/src/ats_file.c" 2>/dev/null && SOURCES+=(--ats file)
# SCN_KINDS=a,b limits the sources (tests/run.sh: the sanitizer pass runs two)
python3 "$TOP/tests/scenarios/run.py" --bin "$ATSRECON" --keap "$KU" --ca "$CA" \
	--work "$T_TMP" ${SCN_KINDS:+--kinds "$SCN_KINDS"} "${SOURCES[@]}" "$@"
