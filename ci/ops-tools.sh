#!/usr/bin/env bash
# ci/ops-tools.sh — the real Prometheus tools that tests/integration/metrics.sh
# checks atsrecon's metrics with, from Debian:
#
#   promtool                 package prometheus: `promtool check metrics` (the
#                            exposition-format parser and the naming linter)
#   prometheus-pushgateway   package prometheus-pushgateway: a real Pushgateway
#                            the test starts on 127.0.0.1 and pushes to
#
# When both commands are on PATH they are used as they are. Otherwise the two
# .deb files are fetched with `apt-get download` and unpacked with `dpkg-deb -x`
# into $BUILD/ops-tools (default build/ops-tools): both are self-contained Go
# binaries, and unpacking them starts no service, creates no system user and
# needs no root (an `apt-get install` would enable and start a Prometheus server
# and a Pushgateway daemon on a machine with systemd). Only when the package
# lists are empty does it run `apt-get update` (as root). Idempotent; quiet when
# all is in place.
#
#   bash ci/ops-tools.sh               install if missing
#   bash ci/ops-tools.sh --print-dir   ... then print the directory holding
#                                      both commands (for PATH)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
DIR="$BUILD/ops-tools"
say() { printf 'ops-tools: %s\n' "$*" >&2; }
die() { printf 'ops-tools: error: %s\n' "$*" >&2; exit 1; }

print_dir() { [ "${1:-}" = --print-dir ] && echo "$2"; return 0; }

# 1. already installed on the system
if command -v promtool >/dev/null 2>&1 && command -v prometheus-pushgateway >/dev/null 2>&1; then
	print_dir "${1:-}" "$(dirname "$(command -v promtool)")"
	exit 0
fi
# 2. unpacked here before
if [ -x "$DIR/root/usr/bin/promtool" ] && [ -x "$DIR/root/usr/bin/prometheus-pushgateway" ] &&
	"$DIR/root/usr/bin/promtool" --version >/dev/null 2>&1; then
	print_dir "${1:-}" "$DIR/root/usr/bin"
	exit 0
fi

# 3. fetch and unpack
command -v apt-get >/dev/null 2>&1 || die "apt-get is missing: install promtool and prometheus-pushgateway by hand"
mkdir -p "$DIR/debs"
log="$DIR/apt.log"
: >"$log"
fetch() { (cd "$DIR/debs" && apt-get download prometheus prometheus-pushgateway) >>"$log" 2>&1; }
if ! fetch; then
	[ "$(id -u)" = 0 ] || die "apt-get download failed and apt-get update needs root; see $log"
	say "apt-get update"
	apt-get update -qq >>"$log" 2>&1 || true
	fetch || die "apt-get download prometheus prometheus-pushgateway failed; see $log"
fi
rm -rf "$DIR/root.new"
mkdir -p "$DIR/root.new"
for deb in "$DIR"/debs/prometheus_*.deb "$DIR"/debs/prometheus-pushgateway_*.deb; do
	[ -f "$deb" ] || die "no .deb downloaded for $deb"
	say "unpacking $(basename "$deb")"
	dpkg-deb -x "$deb" "$DIR/root.new" || die "dpkg-deb -x $deb failed"
done
[ -x "$DIR/root.new/usr/bin/promtool" ] || die "the prometheus package holds no usr/bin/promtool"
[ -x "$DIR/root.new/usr/bin/prometheus-pushgateway" ] ||
	die "the prometheus-pushgateway package holds no usr/bin/prometheus-pushgateway"
rm -f "$DIR/root.new/usr/bin/prometheus"	# the server itself (50 MB) is not needed
rm -rf "$DIR/root"
mv "$DIR/root.new" "$DIR/root"
rm -rf "$DIR/debs"
say "promtool and prometheus-pushgateway in $DIR/root/usr/bin"
print_dir "${1:-}" "$DIR/root/usr/bin"
