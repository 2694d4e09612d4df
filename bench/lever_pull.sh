#!/usr/bin/env bash
# bench/lever_pull.sh [N...] — a full sweep of N people (2 opportunities each)
# from the Lever fake, with the static release build; default 20,000 and
# 100,000 to show memory stays small as the number of people grows.
. "$(dirname "$0")/lib.sh"
bench_build lever_pull
bench_machine
for n in "${@:-20000 100000}"; do
	for n1 in $n; do
		bench_fake lever --rps 0 --idle-timeout 300 --max-lifetime 3600
		out=$(bench_admin POST /_admin/generate "{\"people\": $n1, \"opportunities_per_person\": 2}")
		echo "fake: ${out:0:120}"
		./build/release/bench/lever_pull "$U" "$CA" "$((n1 * 2))"
		bench_fake_stop
	done
done
