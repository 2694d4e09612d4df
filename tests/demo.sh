#!/usr/bin/env bash
# tests/demo.sh — `./build.sh demo`.
#
# The full demo (a reconcile of ~500 seeded candidates against the Keap and
# Greenhouse fakes, the Markdown summary, a second run with zero writes) needs
# the reconcile engine, which is not in this build yet. Until then this shows
# what the foundation does, against a local fake: configuration checking with
# secrets redacted, a configuration error with its file:line, and HTTPS over
# TLS 1.3 and TLS 1.2 through the static binary.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/atsrecon
T=$(mktemp -d /tmp/atsrecon-demo-XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

start() {
	python3 "$TOP/tests/fakes/echo.py" --certdir "$T/ca" --port-file "$T/$1.port" --idle-timeout 60 "${@:2}" \
		>/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 200); do [ -s "$T/$1.port" ] && break; sleep 0.05; done
}
step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; echo "(exit $?)"; }

echo "atsrecon demo (foundation): the reconcile demo arrives with the engine."
step "the binary and its libraries" "$BIN" version
printf 'top-secret-demo\n' >"$T/keap_secret"
chmod 600 "$T/keap_secret"
sed "s|/run/secrets/keap_client_secret|$T/keap_secret|; s|/run/secrets/greenhouse_client_secret|$T/keap_secret|" \
	"$TOP/configs/atsrecon.example.jsonc" >"$T/demo.jsonc"
step "effective configuration, secrets redacted" "$BIN" check -c "$T/demo.jsonc"
printf '{\n  "keap": {\n    "max_rps": 7\n    "concurrency": 2\n  }\n}\n' >"$T/broken.jsonc"
step "a broken configuration names file and line" "$BIN" check -c "$T/broken.jsonc"
start tls13
start tls12 --tls-max 1.2
export ATSRECON_HTTP_CA_FILE="$T/ca/ca.pem"
step "HTTPS, TLS 1.3" "$BIN" probe "https://localhost:$(cat "$T/tls13.port")/tls"
step "HTTPS, server capped at TLS 1.2" "$BIN" probe "https://localhost:$(cat "$T/tls12.port")/tls"
step "status of a state with no run yet (dead-man's switch)" "$BIN" status --state-dir "$T/state"
exit 0
