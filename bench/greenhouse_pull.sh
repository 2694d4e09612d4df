#!/usr/bin/env bash
# bench/greenhouse_pull.sh [N...] — pull N candidates (2 applications each) from
# the Greenhouse fake, 500 per page, with the static release build; default
# 10,000 and 100,000 to show memory is flat in the number of candidates.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl CA_BUNDLE=build/ca-bundle.pem \
	"$PWD/build/release/bench/greenhouse_pull"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${@:-10000 100000}"; do
	for n1 in $n; do
		T=$(mktemp -d)
		python3 tests/fakes/greenhouse.py --certdir "$T/ca" --port-file "$T/port" --pid-file "$T/pid" \
			--limit-per-window 1000000 --idle-timeout 300 2>"$T/fake.log" &
		for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
		U="https://localhost:$(cat "$T/port")"
		python3 -c 'import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/_admin/generate", method="POST",
    data=json.dumps({"candidates": int(sys.argv[3]), "applications_per_candidate": 2}).encode())
urllib.request.urlopen(req, context=ctx, timeout=300).read()' "$U" "$T/ca/ca.pem" "$n1"
		./build/release/bench/greenhouse_pull "$U" "$T/ca/ca.pem" "$((n1 * 2))"
		kill "$(cat "$T/pid")" 2>/dev/null || true
		rm -rf "$T"
	done
done
