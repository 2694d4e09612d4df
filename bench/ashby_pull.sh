#!/usr/bin/env bash
# bench/ashby_pull.sh [N...] — pull N people (one application each) from the
# Ashby fake, 100 per page (the API's maximum), with the static release build;
# default 10,000 and 100,000 to show how memory grows with the number of people.
. "$(dirname "$0")/lib.sh"
bench_build ashby_pull
bench_machine
for n in ${@:-10000 100000}; do
	bench_fake ashby --idle-timeout 300
	bench_admin POST /_admin/canon/generate "{\"people\": $n, \"seed\": 1}" >/dev/null
	echo "inputs: $n people, 1 application each"
	./build/release/bench/ashby_pull "$U" "$CA" "$n"
	bench_fake_stop
done
