#!/usr/bin/env bash
# bench/period_report.sh [N...] — `report --since` over a runs table of N
# records (default 1,000 and 10,000 hourly runs; the states live in
# build/bench-period/ and are kept for reruns): time per format and the
# anonymous-memory peak, which must not grow with N.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl CA_BUNDLE=build/ca-bundle.pem \
	"$TOP/build/release/bench/period_report"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in ${@:-1000 10000}; do
	mkdir -p "build/bench-period/$n"
	./build/release/bench/period_report "build/bench-period/$n" "$n"
done
