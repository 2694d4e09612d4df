#!/usr/bin/env bash
# bench/ashby_pull.sh [N...] — pull N people (one application each) from the
# Ashby fake, 100 per page (the API's maximum), with the static release build;
# default 10,000 and 100,000 to show how memory grows with the number of people.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl CA_BUNDLE=build/ca-bundle.pem \
	"$PWD/build/release/bench/ashby_pull"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in ${@:-10000 100000}; do
	T=$(mktemp -d)
	python3 tests/fakes/ashby.py --certdir "$T/ca" --port-file "$T/port" --pid-file "$T/pid" \
		--idle-timeout 300 2>"$T/fake.log" &
	for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
	U="https://localhost:$(cat "$T/port")"
	python3 -c 'import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/_admin/canon/generate", method="POST",
    data=json.dumps({"people": int(sys.argv[3]), "seed": 1}).encode())
urllib.request.urlopen(req, context=ctx, timeout=300).read()' "$U" "$T/ca/ca.pem" "$n"
	echo "inputs: $n people, 1 application each"
	./build/release/bench/ashby_pull "$U" "$T/ca/ca.pem" "$n"
	kill "$(cat "$T/pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
done
