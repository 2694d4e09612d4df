#!/usr/bin/env bash
# bench/engine_sweep.sh [N] — the engine's full sweep over N candidates (default
# 1,000,000) with no network: bench/engine_sweep.c populates a snapshot of N
# candidates and linked contacts, settles it with one sweep, then times a full
# sweep with 5 % of the candidates changed. Prints wall time, peak RSS (VmHWM,
# which counts LMDB's mapped file pages) and peak anonymous memory, sampled
# every 20 ms from outside. Static release build.
. "$(dirname "$0")/lib.sh"
N=${1:-1000000}
bench_build engine_sweep
bench_machine
D=$(mktemp -d "${TMPDIR:-/tmp}/atsrecon-sweep-XXXXXX")
trap 'rm -rf "$D"' EXIT
./build/release/bench/engine_sweep populate "$D" "$N" | grep '^populate'
./build/release/bench/engine_sweep sweep "$D" "$N" >"$D/out" &
bench_peak_anon $!
grep '^sweep' "$D/out"
echo "peak anonymous memory sampled from outside: $PEAK kB; snapshot on disk: $(du -sh "$D/state" | cut -f1)"
