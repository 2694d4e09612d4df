# bench/lib.sh — sourced by the bench scripts (bash): strict mode, the
# repository's top as the working directory, and the steps they share.
#
#   bench_build NAME [MODE]  builds the bench program bench/NAME.c: MODE release
#                            (the default: static, musl) or dev (glibc, with the
#                            sanitizers); make is asked for the absolute target,
#                            as the Makefile makes OUT absolute
#   bench_machine            prints the "machine: N cores, CPU" line
#   bench_fake KIND ARGS...  starts tests/fakes/KIND.py with ARGS in a new
#                            temporary directory; sets T (the directory), U (its
#                            URL) and CA (its CA file)
#   bench_admin METHOD PATH [JSON] [--get EXPR]
#                            one call to the admin API of that fake (600 s at most)
#   bench_fake_stop          stops that fake and removes T
#   bench_peak_anon PID      waits for PID (a child of this shell, not called in
#                            a $(...) of its own), sampling its anonymous memory
#                            every 20 ms; sets PEAK (kB) and returns PID's exit
#                            status
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"

bench_build() {
	local mode=${2:-release}
	if [ "$mode" = release ]; then
		make -s MODE=release CC=musl-gcc OUT=build/release DEPS=build/deps/musl \
			CA_BUNDLE=build/ca-bundle.pem "$TOP/build/release/bench/$1"
	else
		make -s MODE="$mode" CC=gcc OUT="build/$mode" DEPS=build/deps/glibc \
			CA_BUNDLE=build/ca-bundle.pem "$TOP/build/$mode/bench/$1"
	fi
}

bench_machine() {
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

bench_fake() {
	local kind=$1
	shift
	T=$(mktemp -d)
	python3 "tests/fakes/$kind.py" --certdir "$T/ca" --port-file "$T/port" --pid-file "$T/pid" \
		"$@" 2>"$T/fake.log" &
	for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
	U="https://localhost:$(cat "$T/port")"
	CA="$T/ca/ca.pem"
}

bench_admin() {
	python3 tests/fakes/admin.py --timeout 600 "$U" "$CA" "$@"
}

bench_fake_stop() {
	kill "$(cat "$T/pid" 2>/dev/null)" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}

bench_peak_anon() {
	local pid=$1 a
	PEAK=0
	while kill -0 "$pid" 2>/dev/null; do
		a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ -n "$a" ] && [ "$a" -gt "$PEAK" ] && PEAK=$a
		sleep 0.02
	done
	wait "$pid"
}
