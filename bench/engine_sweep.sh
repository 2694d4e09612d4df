#!/usr/bin/env bash
# bench/engine_sweep.sh [N] — the engine's full sweep over N candidates (default
# 1,000,000) with no network: bench/engine_sweep.c populates a snapshot of N
# candidates and linked contacts, settles it with one sweep, then times a full
# sweep with 5 % of the candidates changed. Prints wall time, peak RSS (VmHWM,
# which counts LMDB's mapped file pages) and peak anonymous memory, sampled
# every 20 ms from outside. Static release build.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
N=${1:-1000000}
make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl CA_BUNDLE=build/ca-bundle.pem \
	"$PWD/build/release/bench/engine_sweep"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
D=$(mktemp -d "${TMPDIR:-/tmp}/atsrecon-sweep-XXXXXX")
trap 'rm -rf "$D"' EXIT
./build/release/bench/engine_sweep populate "$D" "$N" | grep '^populate'
./build/release/bench/engine_sweep sweep "$D" "$N" >"$D/out" &
PID=$!
peak=0
while kill -0 "$PID" 2>/dev/null; do
	a=$(awk '/^RssAnon:/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
	[ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
	sleep 0.02
done
wait "$PID"
grep '^sweep' "$D/out"
echo "peak anonymous memory sampled from outside: $peak kB; snapshot on disk: $(du -sh "$D/state" | cut -f1)"
