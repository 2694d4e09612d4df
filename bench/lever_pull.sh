#!/usr/bin/env bash
# bench/lever_pull.sh [N...] — a full sweep of N people (2 opportunities each)
# from the Lever fake, with the static release build; default 20,000 and
# 100,000 to show memory stays small as the number of people grows.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl CA_BUNDLE=build/ca-bundle.pem \
	"$PWD/build/release/bench/lever_pull"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${@:-20000 100000}"; do
	for n1 in $n; do
		T=$(mktemp -d)
		python3 tests/fakes/lever.py --certdir "$T/ca" --port-file "$T/port" --pid-file "$T/pid" \
			--rps 0 --idle-timeout 300 --max-lifetime 3600 2>"$T/fake.log" &
		for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
		U="https://localhost:$(cat "$T/port")"
		python3 -c 'import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/_admin/generate", method="POST",
    data=json.dumps({"people": int(sys.argv[3]), "opportunities_per_person": 2}).encode())
print("fake:", urllib.request.urlopen(req, context=ctx, timeout=600).read().decode()[:120])' \
			"$U" "$T/ca/ca.pem" "$n1"
		./build/release/bench/lever_pull "$U" "$T/ca/ca.pem" "$((n1 * 2))"
		kill "$(cat "$T/pid")" 2>/dev/null || true
		rm -rf "$T"
	done
done
