#!/usr/bin/env bash
# ci/deploy-tools.sh — install what tests/integration/deploy.sh needs to check
# the files under deploy/ with real tools. Idempotent; prints nothing when all is
# in place. Prints the directory of the npm tools on stdout with --print-dir.
#
#   Debian (apt-get, as root or through sudo):
#     systemd        systemd-analyze verify / security / calendar (the units)
#     nodejs, npm    the validators below
#     strace         the syscalls and socket families a run uses (the sandbox)
#     kustomize      renders the kustomizations (Debian 13 and later; on older
#                    releases `kubectl kustomize` serves if kubectl is installed,
#                    else the test assembles the resources itself and says so)
#   npm (pinned, into $BUILD/deploy-tools, default build/deploy-tools):
#     kubernetes-models          Kubernetes' OpenAPI schemas as validators per kind
#     typescript                 strict unknown-field check against the same models'
#                                types (the API server's strict field validation)
#     yaml                       YAML with CloudFormation's short tags (!Ref, !Sub)
#     @aws-cdk/aws-service-spec  AWS's resource specification (CloudFormation and
#                                SAM types) for the SAM template's structural check
#
# cfn-lint (AWS's CloudFormation linter) is used by the test when it is on PATH;
# it is a Python package that neither Debian nor npm ships, so it is not
# installed here.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
DIR="$BUILD/deploy-tools"
say() { printf 'deploy-tools: %s\n' "$*" >&2; }
die() { printf 'deploy-tools: error: %s\n' "$*" >&2; exit 1; }

# The npm packages, pinned. kubernetes-models 4.5.1 is the newest that runs on
# Node.js 14 to 20 (5.x wants 22); its schemas are Kubernetes 1.32's.
NPM_PKGS='{
  "name": "atsrecon-deploy-tools",
  "private": true,
  "description": "validators for deploy/ (installed by ci/deploy-tools.sh)",
  "dependencies": {
    "@aws-cdk/aws-service-spec": "0.1.216",
    "kubernetes-models": "4.5.1",
    "typescript": "5.9.3",
    "yaml": "2.9.1"
  }
}'

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

apt_updated=0
apt_install() {
	mkdir -p "$BUILD"
	if [ "$apt_updated" = 0 ]; then
		as_root apt-get update -qq >"$BUILD/deploy-tools-apt.log" 2>&1 || true
		apt_updated=1
	fi
	say "installing $* (Debian)"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
		>>"$BUILD/deploy-tools-apt.log" 2>&1 || die "apt-get install $* failed; see $BUILD/deploy-tools-apt.log"
}

# Does the Debian archive this machine uses carry package $1?
apt_has() {
	local c
	c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	[ -n "$c" ] && [ "$c" != "(none)" ]
}

kustomize_renderer() {
	command -v kustomize >/dev/null 2>&1 && return 0
	command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1
}

debian_tools() {
	local need=() cmd pkg
	while read -r cmd pkg; do
		command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
	done <<'EOF'
systemd-analyze systemd
node nodejs
npm npm
strace strace
flock util-linux
python3 python3
EOF
	[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
	if ! kustomize_renderer; then
		if [ "$apt_updated" = 0 ] && ! apt_has kustomize; then
			as_root apt-get update -qq >"$BUILD/deploy-tools-apt.log" 2>&1 || true
			apt_updated=1
		fi
		if apt_has kustomize; then
			apt_install kustomize
		fi
	fi
}

npm_tools() {
	local want have=""
	want=$(printf '%s\n' "$NPM_PKGS" | sha256sum | cut -d' ' -f1)
	[ -f "$DIR/.stamp" ] && have=$(cat "$DIR/.stamp")
	[ "$want" = "$have" ] && [ -d "$DIR/node_modules/kubernetes-models" ] && return 0
	mkdir -p "$DIR"
	printf '%s\n' "$NPM_PKGS" >"$DIR/package.json"
	say "installing the npm validators into $DIR"
	(cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --no-package-lock \
		--loglevel=error) >"$DIR/npm-install.log" 2>&1 ||
		die "npm install failed; see $DIR/npm-install.log"
	echo "$want" >"$DIR/.stamp"
}

debian_tools
npm_tools
[ "${1:-}" = --print-dir ] && echo "$DIR"
exit 0
