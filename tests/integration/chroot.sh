#!/usr/bin/env bash
# Integration: the static binary alone in an empty chroot (what a FROM scratch
# image or a Lambda bootstrap gives it): no /dev, no libc, no CA store. Inside:
# only /atsrecon, /etc/hosts (naming fake.test) and the test CA file.
# Needs root (chroot); run for the static release binary.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	not_ok "chroot tests need root"
	t_done
	exit 1
fi
check "binary is statically linked (file)" bash -c "file -b '$ATSRECON' | grep -q 'statically linked'"
check "binary is not dynamic (ldd)" bash -c "ldd '$ATSRECON' 2>&1 | grep -q 'not a dynamic executable'"
size=$(stat -c %s "$ATSRECON")
check "stripped size $size <= 2 MiB" test "$size" -le 2097152

start_fake echo || { t_done; exit 1; }
P13=$FAKE_PORT
start_fake echo --tls-max 1.2 || { t_done; exit 1; }
P12=$FAKE_PORT

CHROOT=$(command -v chroot)
R="$T_TMP/root"
mkdir -p "$R/etc"
cp "$ATSRECON" "$R/atsrecon"
cp "$CA" "$R/ca.pem"
printf '127.0.0.1 fake.test\n' >"$R/etc/hosts"
check "the chroot holds nothing else (no /dev, no /lib)" \
	test "$(cd "$R" && find . -mindepth 1 | sort | tr '\n' ' ')" = "./atsrecon ./ca.pem ./etc ./etc/hosts "

inroot() { env -i SSL_CERT_FILE=/ca.pem "$CHROOT" "$R" /atsrecon "$@"; }
expect_rc 0 "version inside the empty chroot" inroot version
check "version names mbedTLS 3.6.6" out_has "mbedTLS/3.6.6"
expect_rc 0 "TLS 1.3 request to fake.test (name from the chroot's /etc/hosts)" inroot probe "https://fake.test:$P13/tls"
check "negotiated TLSv1.3" out_has "TLSv1.3"
expect_rc 0 "TLS 1.2 request to fake.test" inroot probe --json "https://fake.test:$P12/tls"
check "negotiated TLSv1.2" out_has '"tls":"TLSv1.2"'
expect_rc 5 "a name in no /etc/hosts fails to resolve" inroot probe "https://nowhere.test:$P13/tls"
check "resolution failure is named" out_has "name resolution failed"
expect_rc 5 "without the CA file the built-in bundle refuses the test CA" \
	env -i "$CHROOT" "$R" /atsrecon probe "https://fake.test:$P13/tls"

# Entropy: mbedTLS must use getrandom(2), never a /dev device (our vendor patch).
if command -v strace >/dev/null; then
	strace -f -qq -e trace=getrandom,open,openat -o "$T_TMP/strace" \
		env -i SSL_CERT_FILE=/ca.pem "$CHROOT" "$R" /atsrecon probe "https://fake.test:$P13/tls" >/dev/null 2>&1
	check "the TLS handshake used getrandom()" grep -q 'getrandom(' "$T_TMP/strace"
	check "nothing under /dev was opened" bash -c "! grep -E 'open(at)?\\(.*\"/dev/' '$T_TMP/strace' | grep -v ENOENT | grep -q ."
	check "no /dev path was even tried" bash -c "! grep -q '\"/dev/' '$T_TMP/strace'"
else
	not_ok "strace missing"
fi

# State in the chroot: LMDB and the lock need nothing but a writable directory.
mkdir -p "$R/state"
expect_rc 0 "state opens inside the chroot" env -i "$CHROOT" "$R" /atsrecon auth keap --refresh-token CHROOT-RT-0001 --state-dir /state
expect_rc 8 "status inside the chroot" env -i "$CHROOT" "$R" /atsrecon status --state-dir /state

t_done
