#!/usr/bin/env bash
# bench/period_report.sh [N...] — `report --since` over a runs table of N
# records (default 1,000 and 10,000 hourly runs; the states live in
# build/bench-period/ and are kept for reruns): time per format and the
# anonymous-memory peak, which must not grow with N.
. "$(dirname "$0")/lib.sh"
bench_build period_report
bench_machine
for n in ${@:-1000 10000}; do
	mkdir -p "build/bench-period/$n"
	./build/release/bench/period_report "build/bench-period/$n" "$n"
done
