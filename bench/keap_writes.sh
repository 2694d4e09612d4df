#!/usr/bin/env bash
# bench/keap_writes.sh — 2,000 Keap writes against the fake with 50 ms latency
# and an enforced 25 requests/s limit. Needs ./build.sh dev first (it uses the
# dev libraries; timings of the sanitizer build are pessimistic) — or set
# MODE=release to build the bench against the musl libraries.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
MODE=${MODE:-release}
if [ "$MODE" = release ]; then CC=musl-gcc; DEPS=build/deps/musl; else CC=gcc; DEPS=build/deps/glibc; fi
make -s MODE="$MODE" CC="$CC" OUT="build/$MODE" DEPS="$DEPS" CA_BUNDLE=build/ca-bundle.pem "build/$MODE/bench/keap_writes"
T=$(mktemp -d)
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
python3 tests/fakes/keap.py --certdir "$T/ca" --port-file "$T/port" --pid-file "$T/pid" \
	--latency-ms 50 --rps 25 --idle-timeout 120 2>"$T/fake.log" &
for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"build/$MODE/bench/keap_writes" "https://localhost:$(cat "$T/port")" "$T/ca/ca.pem" "${WRITES:-2000}" 25
