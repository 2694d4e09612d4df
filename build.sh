#!/usr/bin/env bash
# build.sh — build, test and demo atsrecon from pinned sources.
#
#   ./build.sh          release binary ./atsrecon (static musl, stripped, <= 2 MB)
#   ./build.sh dev      glibc binary with ASan+UBSan: build/dev/atsrecon
#   ./build.sh test     both binaries, then every test (ends "N passed, N failed")
#   ./build.sh demo     a full reconcile against the built-in fakes
#   ./build.sh clean    remove build outputs (keeps the verified download cache)
#   ./build.sh distclean  remove everything, downloads included
#   ./build.sh man      regenerate docs/atsrecon.1 and docs/atsrecon.conf.5 (tools/genman)
#   ./build.sh lambda   the release binary as build/lambda/atsrecon-lambda.zip (`bootstrap`,
#                       mode 0755: the provided.al2023 custom runtime)
#   ./build.sh fuzz [SECONDS [TARGET...]]  clang libFuzzer targets (tests/fuzz/), each run
#                       for SECONDS (default 60); executions and crashes per target
#   ./build.sh valgrind the unit tests and an engine scenario under valgrind's memcheck
#                       (a glibc build without sanitizers: build/valgrind/)
#   ./build.sh bench [NAME...]  the benchmarks bench/NAME.sh or .py (default: all, one
#                       after another, each with its default size; exit 1 if one fails)
#
# It installs what it needs from Debian when missing (musl-tools, dpkg-dev, ...)
# and fetches the libraries' Debian source packages through a private apt
# configuration under build/ (vendor/deps.sh); the system's apt configuration is
# never edited.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$TOP"
export BUILD=${BUILD:-$TOP/build}
export JOBS=${JOBS:-$(nproc)}
MAX_SIZE=$((2 * 1024 * 1024))

# shellcheck source=vendor/deps.sh
. "$TOP/vendor/deps.sh"

say() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

# apt_install LOG WHAT PKG...: installs Debian packages (as root), its output in
# $BUILD/LOG; WHAT names them in messages.
apt_install() {
	local log=$1 what=$2
	shift 2
	[ "$(id -u)" = 0 ] || die "missing $what: $* (install them, or run as root)"
	say "installing $what: $*"
	apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
		>"$BUILD/$log" 2>&1 || die "apt-get install $* failed; see $BUILD/$log"
}

# Debian packages the build and the tests need, by the command that shows them.
ensure_tools() {
	local need=() cmd pkg
	while read -r cmd pkg; do
		command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
	done <<'EOF'
musl-gcc musl-tools
gcc gcc
make make
dpkg-source dpkg-dev
patch patch
python3 python3
openssl openssl
file file
strace strace
flock util-linux
EOF
	[ ${#need[@]} -eq 0 ] && return 0
	apt_install apt-install.log packages "${need[@]}"
}

# What the test suite drives (real components, not mocks of them), by command.
ensure_test_tools() {
	local need=() cmd pkg
	while read -r cmd pkg; do
		command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
	done <<'TOOLS'
chromium chromium
pdftotext poppler-utils
tmux tmux
valgrind valgrind
TOOLS
	[ ${#need[@]} -eq 0 ] && return 0
	apt_install apt-install-test.log "test tools" "${need[@]}"
}

# clang and its libFuzzer and sanitizer runtimes (Debian: clang, libclang-rt-N-dev).
ensure_fuzz_tools() {
	local need=() major
	command -v clang >/dev/null 2>&1 || need+=(clang)
	if [ ${#need[@]} -eq 0 ]; then
		major=$(clang -dumpversion | cut -d. -f1)
		[ -f "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ] ||
			need+=("libclang-rt-$major-dev")
	fi
	[ ${#need[@]} -eq 0 ] && return 0
	apt_install apt-install-fuzz.log "fuzzing tools" "${need[@]}"
	if [ ${#need[@]} -eq 1 ] && [ "${need[0]}" = clang ]; then
		ensure_fuzz_tools	# now the runtime, for the clang just installed
	fi
}

prepare() {
	mkdir -p "$BUILD"
	ensure_tools
	deps_fetch
	deps_ca_bundle "$BUILD/ca-bundle.pem"
}

build_release() {
	local t0 size
	t0=$(date +%s%N)
	prepare
	deps_build musl musl-gcc "-O2 -ffunction-sections -fdata-sections"
	make -s -j"$JOBS" MODE=release CC=musl-gcc OUT="$BUILD/release" DEPS="$BUILD/deps/musl" \
		CA_BUNDLE="$BUILD/ca-bundle.pem" "$BUILD/release/atsrecon"
	cp "$BUILD/release/atsrecon" "$TOP/atsrecon"
	size=$(stat -c %s "$TOP/atsrecon")
	say "release: ./atsrecon $size bytes (limit $MAX_SIZE), $(file -b "$TOP/atsrecon" | cut -d, -f1-5)"
	say "release: built in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	local revs=""
	for p in mbedtls curl cjson lmdb zlib ca-certificates; do
		revs="$revs $p=$(deps_revision "$p")"
	done
	say "Debian revisions:$revs"
	[ "$size" -le "$MAX_SIZE" ] || die "binary is $size bytes, over the $MAX_SIZE-byte budget"
}

build_dev() {
	prepare
	deps_build glibc gcc "-O1 -g -fno-omit-frame-pointer"
	make -s -j"$JOBS" MODE=dev CC=gcc OUT="$BUILD/dev" DEPS="$BUILD/deps/glibc" \
		CA_BUNDLE="$BUILD/ca-bundle.pem" "$BUILD/dev/atsrecon" tests
	say "dev: $BUILD/dev/atsrecon (ASan+UBSan)"
}

# The fuzz targets (tests/fuzz/fuzz_*.c): every source file compiled by clang
# with the fuzzer's coverage hooks, ASan and UBSan, linked with the glibc
# libraries the dev build uses (built by gcc; they are not instrumented).
build_fuzz() {
	prepare
	ensure_fuzz_tools
	deps_build glibc gcc "-O1 -g -fno-omit-frame-pointer"
	make -s -j"$JOBS" MODE=fuzz CC=clang OUT="$BUILD/fuzz" DEPS="$BUILD/deps/glibc" \
		CA_BUNDLE="$BUILD/ca-bundle.pem" fuzzers
	say "fuzz: $(ls "$BUILD/fuzz/fuzz" | wc -l) targets in $BUILD/fuzz/fuzz/"
}

# The unit tests and the binary without sanitizers, for valgrind (memcheck
# cannot run ASan binaries).
build_valgrind() {
	prepare
	deps_build glibc gcc "-O1 -g -fno-omit-frame-pointer"
	make -s -j"$JOBS" MODE=valgrind CC=gcc OUT="$BUILD/valgrind" DEPS="$BUILD/deps/glibc" \
		CA_BUNDLE="$BUILD/ca-bundle.pem" "$BUILD/valgrind/atsrecon" tests
	say "valgrind: $BUILD/valgrind/atsrecon and unit tests (no sanitizers)"
}

# The Lambda deployment package: the static binary as `bootstrap` (Lambda runs
# /var/task/bootstrap), executable, at the top of the zip. Python's zipfile
# writes it (no dependency on zip), with the Unix mode in external_attr and a
# fixed timestamp so the same binary gives the same zip.
build_lambda() {
	local out="$BUILD/lambda/atsrecon-lambda.zip"
	build_release
	mkdir -p "$BUILD/lambda"
	python3 - "$BUILD/release/atsrecon" "$out" <<'PY'
import sys, zipfile
src, out = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.create_system = 3  # Unix, so the mode is honoured
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(out + ".tmp", "w") as z:
    z.writestr(info, f.read())
PY
	mv "$out.tmp" "$out"
	say "lambda: $out ($(stat -c %s "$out") bytes; bootstrap = build/release/atsrecon, mode 0755)"
}

cmd=${1:-release}
[ $# -gt 0 ] && shift
case "$cmd" in
release) build_release ;;
dev) build_dev ;;
test)
	build_release
	build_dev
	build_fuzz
	ensure_test_tools
	exec "$TOP/tests/run.sh" "$@"
	;;
fuzz)
	secs=${1:-60}
	[ $# -gt 0 ] && shift
	build_fuzz
	exec "$TOP/tests/fuzz/run.sh" "$secs" "$@"
	;;
valgrind)
	build_valgrind
	ensure_test_tools
	exec "$TOP/tests/run.sh" valgrind
	;;
lambda) build_lambda ;;
bench)
	build_release
	if [ $# -eq 0 ]; then
		set -- $(cd "$TOP/bench" && ls *.sh *.py | grep -v '^lib\.sh$' | sed 's/\.[a-z]*$//')
	fi
	failed=0
	for b in "$@"; do
		say "bench: $b"
		if [ -f "$TOP/bench/$b.sh" ]; then
			bash "$TOP/bench/$b.sh" || failed=$((failed + 1))
		elif [ -f "$TOP/bench/$b.py" ]; then
			python3 "$TOP/bench/$b.py" || failed=$((failed + 1))
		else
			say "bench: no bench/$b.sh or bench/$b.py"
			failed=$((failed + 1))
		fi
	done
	[ "$failed" = 0 ] || { say "bench: $failed failed"; exit 1; }
	;;
demo)
	build_release
	exec "$TOP/tests/demo.sh" "$@"
	;;
man)
	prepare
	deps_build glibc gcc "-O1 -g -fno-omit-frame-pointer"
	make -s -j"$JOBS" MODE=dev CC=gcc OUT="$BUILD/dev" DEPS="$BUILD/deps/glibc" \
		CA_BUNDLE="$BUILD/ca-bundle.pem" man
	say "man: docs/atsrecon.1 and docs/atsrecon.conf.5 regenerated from the option table"
	;;
clean)
	rm -rf "$BUILD/release" "$BUILD/dev" "$BUILD/fuzz" "$BUILD/valgrind" "$BUILD/deps" "$BUILD/tests" \
		"$TOP/atsrecon"
	say "cleaned (downloads kept in $BUILD/cache; 'distclean' removes them too)"
	;;
distclean) rm -rf "$BUILD" "$TOP/atsrecon" ;;
*)
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
