#!/usr/bin/env bash
# bench/greenhouse_pull.sh [N...] — pull N candidates (2 applications each) from
# the Greenhouse fake, 500 per page, with the static release build; default
# 10,000 and 100,000 to show memory is flat in the number of candidates.
. "$(dirname "$0")/lib.sh"
bench_build greenhouse_pull
bench_machine
for n in "${@:-10000 100000}"; do
	for n1 in $n; do
		bench_fake greenhouse --limit-per-window 1000000 --idle-timeout 300
		bench_admin POST /_admin/generate \
			"{\"candidates\": $n1, \"applications_per_candidate\": 2}" >/dev/null
		./build/release/bench/greenhouse_pull "$U" "$CA" "$((n1 * 2))"
		bench_fake_stop
	done
done
