#!/usr/bin/env bash
# bench/keap_writes.sh — 2,000 Keap writes against the fake with 50 ms latency
# and an enforced 25 requests/s limit, with the static release build — or set
# MODE=dev to build the bench against the dev libraries (timings of the
# sanitizer build are pessimistic). WRITES=N: N writes instead.
. "$(dirname "$0")/lib.sh"
MODE=${MODE:-release}
bench_build keap_writes "$MODE"
bench_fake keap --latency-ms 50 --rps 25 --idle-timeout 120
trap bench_fake_stop EXIT
bench_machine
"./build/$MODE/bench/keap_writes" "$U" "$CA" "${WRITES:-2000}" 25
