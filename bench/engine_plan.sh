#!/usr/bin/env bash
# bench/engine_plan.sh [N] [PCT] — a full sweep that plans a write for most of
# a large world (default 200,000 candidates, 90 % drifted), with no network
# (bench/engine_sweep.c, offline: the writes go nowhere and fail as records).
# What it measures is the planning: every per-op step must be O(1) or
# O(log n), so the sweep ends in seconds, with memory that grows by the ops'
# own size. Prints the wall time, peak anonymous memory (sampled from outside
# every 20 ms) and the anonymous bytes per planned op beyond a 5 %-drift sweep
# of the same world.
. "$(dirname "$0")/lib.sh"
N=${1:-200000}
PCT=${2:-90}
bench_build engine_sweep
bench_machine
D=$(mktemp -d "${TMPDIR:-/tmp}/atsrecon-plan-XXXXXX")
trap 'rm -rf "$D"' EXIT
./build/release/bench/engine_sweep populate "$D" "$N" | grep '^populate'
cp -a "$D/state" "$D/state.settled"
sweep() {	# sweep PCT: prints "<wall line>|<peak anon kB>"
	rm -rf "$D/state"
	cp -a "$D/state.settled" "$D/state"
	BENCH_DRIFT_PCT=$1 ./build/release/bench/engine_sweep sweep "$D" "$N" >"$D/out" &
	bench_peak_anon $! || true
	echo "$(grep '^sweep' "$D/out")|$PEAK"
}
base=$(sweep 5)
big=$(sweep "$PCT")
echo "${base%|*}"
echo "  peak anonymous memory (outside): ${base##*|} kB"
echo "${big%|*}"
echo "  peak anonymous memory (outside): ${big##*|} kB"
ops=$(( N * (PCT - 5) / 100 ))
echo "per planned op beyond the 5 % sweep: $(( (${big##*|} - ${base##*|}) * 1024 / (ops > 0 ? ops : 1) )) bytes (about $ops more ops; target <= 200 bytes)"
