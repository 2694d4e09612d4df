#!/usr/bin/env bash
# ci/doc-tools.sh — installs what the documentation checks need from Debian
# when it is missing: mandoc (mandoc -T lint, -T utf8). Does nothing when it is
# there already, so every test run may call it. Needs root only to install.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v mandoc >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "doc-tools: mandoc is missing: apt-get install mandoc (as root)" >&2
	exit 1
fi
mkdir -p "$TOP/build"
log="$TOP/build/apt-install-doc.log"
echo "doc-tools: installing mandoc" >&2
apt-get update -qq >"$log" 2>&1 || true
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o DPkg::Lock::Timeout=300 mandoc >>"$log" 2>&1; then
	echo "doc-tools: apt-get install mandoc failed; see $log" >&2
	exit 1
fi
command -v mandoc >/dev/null 2>&1
