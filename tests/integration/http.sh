#!/usr/bin/env bash
# Integration: HTTPS through the binary (atsrecon probe): TLS 1.3 and 1.2, CA
# choices, certificate errors, plain-HTTP policy, body cap, proxy variables.
. "$(dirname "$0")/../lib.sh"

start_fake echo || { t_done; exit 1; }
U13=$FAKE_URL
start_fake echo --tls-max 1.2 || { t_done; exit 1; }
U12=$FAKE_URL
export ATSRECON_HTTP_CA_FILE=$CA

expect_rc 0 "TLS 1.3 request" "$ATSRECON" probe "$U13/tls"
check "client negotiated TLSv1.3" out_has "TLSv1.3"
expect_rc 0 "TLS 1.2 request (server caps at 1.2)" "$ATSRECON" probe --json "$U12/tls"
check "client negotiated TLSv1.2" out_has '"tls":"TLSv1.2"'
expect_rc 0 "debug log shows the TLS version" "$ATSRECON" probe -v --log-format json "$U13/echo"
check "debug line names TLSv1.3" err_has "TLSv1.3"

unset ATSRECON_HTTP_CA_FILE
expect_rc 5 "built-in CA bundle does not trust the test CA" "$ATSRECON" probe "$U13/echo"
check "certificate error is explained" out_has "TLS failed"
expect_rc 0 "SSL_CERT_FILE is honoured" env SSL_CERT_FILE="$CA" "$ATSRECON" probe "$U13/echo"
expect_rc 0 "http.ca_file beats SSL_CERT_FILE" env SSL_CERT_FILE=/nonexistent ATSRECON_HTTP_CA_FILE="$CA" \
	"$ATSRECON" probe "$U13/echo"
expect_rc 3 "a missing CA file is a configuration error" env ATSRECON_HTTP_CA_FILE=/nonexistent/ca.pem \
	"$ATSRECON" probe "$U13/echo"
expect_rc 5 "host name must match the certificate" env ATSRECON_HTTP_CA_FILE="$CA" \
	"$ATSRECON" probe "https://127.0.0.2:${U13##*:}/echo"
export ATSRECON_HTTP_CA_FILE=$CA

expect_rc 3 "plain http to a non-loopback host is refused" "$ATSRECON" probe http://example.com/
expect_rc 5 "nothing listening" "$ATSRECON" probe https://localhost:1/

expect_rc 0 "body within the cap" env ATSRECON_HTTP_MAX_BODY_BYTES=65536 "$ATSRECON" probe "$U13/big?n=65536"
check "decoded body size reported" out_has "65536 bytes"
expect_rc 5 "body over the cap (gzip-compressed on the wire)" env ATSRECON_HTTP_MAX_BODY_BYTES=65536 \
	"$ATSRECON" probe "$U13/big?n=65537"
check "over-cap error says so" out_has "response too large"

# Proxy: HTTPS_PROXY sends the request through a CONNECT tunnel; NO_PROXY bypasses it.
python3 "$TOP/tests/fakes/proxy.py" --port-file "$T_TMP/proxy.port" --log "$T_TMP/proxy.log" --idle-timeout 60 &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_TMP/proxy.port" ] && break; sleep 0.05; done
PROXY="http://127.0.0.1:$(cat "$T_TMP/proxy.port")"
expect_rc 0 "request through HTTPS_PROXY" env HTTPS_PROXY="$PROXY" "$ATSRECON" probe "$U13/echo"
check "the proxy saw the CONNECT" grep -q "CONNECT localhost:${U13##*:}" "$T_TMP/proxy.log"
n_before=$(wc -l <"$T_TMP/proxy.log")
expect_rc 0 "NO_PROXY bypasses the proxy" env HTTPS_PROXY="$PROXY" NO_PROXY=localhost "$ATSRECON" probe "$U13/echo"
check "the proxy saw nothing more" test "$(wc -l <"$T_TMP/proxy.log")" = "$n_before"
expect_rc 5 "a dead proxy is a remote failure" env HTTPS_PROXY=http://127.0.0.1:1 "$ATSRECON" probe "$U13/echo"

t_done
