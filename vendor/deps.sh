# shellcheck shell=bash
# vendor/deps.sh — fetch, verify and build the pinned third-party libraries.
#
# Sourced by build.sh. Everything happens under $BUILD (default ./build, ignored
# by git): a private apt configuration (its own source list and lists directory,
# so the system's apt configuration is never edited), a download cache, and one
# install prefix per flavour:
#
#   $BUILD/deps/musl    static musl libraries for the release binary
#   $BUILD/deps/glibc   static glibc libraries for the sanitizer/dev binary
#
# Both flavours are built from the SAME verified sources with the SAME options,
# so tests under ASan exercise the TLS backend that ships.

VENDOR_DIR=${VENDOR_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
MANIFEST="$VENDOR_DIR/MANIFEST"

deps_log() { printf 'deps: %s\n' "$*" >&2; }
deps_die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# Manifest rows without comments: "pkg rev file sha256".
deps_rows() { grep -v -E '^[[:space:]]*(#|$)' "$MANIFEST"; }

deps_sha() { sha256sum "$1" | cut -d' ' -f1; }

# The Debian archive URIs this machine already uses (deb.debian.org and the
# security archive); we only replace the suite names.
deps_mirrors() {
	local f uris
	MIRROR=""; SECURITY=""
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# Only live entries: "URIs:" lines of deb822 files, "deb" lines of one-line files.
		uris=$(grep -h -E '^[[:space:]]*(URIs:|deb[[:space:]])' "$f" 2>/dev/null |
			grep -o -E 'https?://[^ ]+/debian(-security)?/?( |$)')
		for u in $uris; do
			u=${u%/}
			case "$u" in
			*-security) [ -z "$SECURITY" ] && SECURITY=$u ;;
			*) [ -z "$MIRROR" ] && MIRROR=$u ;;
			esac
		done
	done
	[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
	[ -n "$SECURITY" ] || SECURITY=http://deb.debian.org/debian-security
}

deps_apt_opts() {
	APT_OPTS=(-o "Dir::Etc::SourceList=$BUILD/apt/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$BUILD/apt/lists"
		-o "Dir::Cache=$BUILD/apt/cache"
		-o "Dir::State::status=/dev/null"
		-o "APT::Architectures=amd64"
		-o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=root")
}

deps_apt_update() {
	[ -n "${DEPS_APT_READY:-}" ] && return 0
	deps_mirrors
	mkdir -p "$BUILD/apt/lists/partial" "$BUILD/apt/cache/archives/partial"
	printf '%s\n' \
		"deb-src $MIRROR trixie main" \
		"deb-src $MIRROR trixie-updates main" \
		"deb-src $SECURITY trixie-security main" \
		"deb $MIRROR trixie main" \
		"deb $MIRROR trixie-updates main" \
		"deb $SECURITY trixie-security main" >"$BUILD/apt/sources.list"
	deps_apt_opts
	deps_log "apt update (private configuration in $BUILD/apt)"
	apt-get "${APT_OPTS[@]}" -qq update >"$BUILD/apt/update.log" 2>&1 ||
		deps_die "apt-get update failed; see $BUILD/apt/update.log"
	# apt only warns when an index cannot be fetched; that is fatal here.
	if grep -q -E '^(W|E): Failed to fetch' "$BUILD/apt/update.log"; then
		deps_die "apt-get update could not reach $MIRROR: $(grep -m1 -E '^(W|E): Failed' "$BUILD/apt/update.log")"
	fi
	DEPS_APT_READY=1
}

# Is every manifest file of package $1 present in the cache with its sha256?
deps_cached() {
	local pkg rev file sha ok=0
	while read -r pkg rev file sha; do
		[ "$pkg" = "$1" ] || continue
		[ -f "$BUILD/cache/$file" ] && [ "$(deps_sha "$BUILD/cache/$file")" = "$sha" ] || ok=1
	done < <(deps_rows)
	return $ok
}

# The orig tarball (the upstream release) of a source package and its sha256.
deps_orig() {
	deps_rows | awk -v p="$1" '$1 == p && $3 ~ /\.orig\.tar\.[a-z0-9]+$/ { print $3, $4; exit }'
}

# Download one source package at its pinned revision, or else at the newest
# revision served whose orig tarball has the pinned sha256.
deps_fetch_source() {
	local pkg=$1 rev=$2 orig osha cand used=""
	read -r orig osha < <(deps_orig "$pkg")
	deps_apt_update
	if (cd "$BUILD/cache" && apt-get "${APT_OPTS[@]}" -qq source --download-only "$pkg=$rev" >>"$BUILD/apt/fetch.log" 2>&1); then
		used=$rev
	else
		deps_log "$pkg $rev is not served any more; looking for a revision with the same orig tarball"
		# Every revision the index lists, newest first, that names our orig sha256.
		for cand in $(apt-cache "${APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null |
			awk -v sha="$osha" '/^Version:/ { v = $2 } $1 == sha { print v }' | sort -u |
			sort -r -t' ' -k1,1 -V); do
			if (cd "$BUILD/cache" && apt-get "${APT_OPTS[@]}" -qq source --download-only "$pkg=$cand" >>"$BUILD/apt/fetch.log" 2>&1); then
				used=$cand
				break
			fi
		done
	fi
	[ -n "$used" ] || deps_die "$pkg: no served revision carries $orig with sha256 $osha"
	[ "$(deps_sha "$BUILD/cache/$orig")" = "$osha" ] ||
		deps_die "$pkg: $orig has sha256 $(deps_sha "$BUILD/cache/$orig"), the manifest pins $osha — refusing to build"
	echo "$used" >"$BUILD/cache/$pkg.revision"
	deps_log "$pkg: using Debian revision $used"
}

deps_fetch_deb() {
	local pkg=$1 rev=$2 file=$3 sha=$4
	deps_apt_update
	(cd "$BUILD/cache" && apt-get "${APT_OPTS[@]}" -qq download "$pkg=$rev" >>"$BUILD/apt/fetch.log" 2>&1) ||
		(cd "$BUILD/cache" && apt-get "${APT_OPTS[@]}" -qq download "$pkg" >>"$BUILD/apt/fetch.log" 2>&1) ||
		deps_die "$pkg: download failed; see $BUILD/apt/fetch.log"
	file=$(ls -t "$BUILD/cache/${pkg}_"*_all.deb | head -n 1)
	echo "$(basename "$file" | cut -d_ -f2)" >"$BUILD/cache/$pkg.revision"
	deps_log "$pkg: using $(basename "$file")"
}

# Fetch everything the manifest lists that the cache does not already hold, and
# verify every file the manifest pins. A mismatch in a pinned upstream file is fatal.
deps_fetch() {
	local pkg rev file sha seen=" "
	mkdir -p "$BUILD/cache"
	while read -r pkg rev file sha; do
		case "$seen" in *" $pkg "*) continue ;; esac
		seen="$seen$pkg "
		if deps_cached "$pkg"; then
			[ -f "$BUILD/cache/$pkg.revision" ] || echo "$rev" >"$BUILD/cache/$pkg.revision"
			continue
		fi
		case "$file" in
		*.deb) deps_fetch_deb "$pkg" "$rev" "$file" "$sha" ;;
		*) deps_fetch_source "$pkg" "$rev" ;;
		esac
	done < <(deps_rows)
	# Verify: pinned files of the pinned revision must match; a fallback revision
	# is verified through its orig sha (above) and dpkg-source's .dsc check.
	while read -r pkg rev file sha; do
		[ "$(cat "$BUILD/cache/$pkg.revision")" = "${rev#*:}" ] ||
			[ "$(cat "$BUILD/cache/$pkg.revision")" = "$rev" ] || continue
		[ -f "$BUILD/cache/$file" ] || deps_die "$file: missing after download"
		[ "$(deps_sha "$BUILD/cache/$file")" = "$sha" ] ||
			deps_die "$file: sha256 $(deps_sha "$BUILD/cache/$file") differs from the manifest's $sha — refusing to build"
	done < <(deps_rows)
}

deps_revision() { cat "$BUILD/cache/$1.revision"; }

# Unpack a source package with dpkg-source (applies Debian's patches and checks
# the .dsc's own checksums) into $2.
deps_unpack() {
	local pkg=$1 dest=$2 rev dsc
	rev=$(deps_revision "$pkg")
	dsc=$(ls "$BUILD/cache/${pkg}_${rev#*:}.dsc" 2>/dev/null) || deps_die "$pkg: no .dsc for $rev"
	rm -rf "$dest"
	dpkg-source --no-check -x "$dsc" "$dest" >"$dest.unpack.log" 2>&1 ||
		deps_die "$pkg: dpkg-source failed; see $dest.unpack.log"
	# dpkg-source --no-check skips signatures (no keyring here), not checksums:
	# the files' sizes and sha256 in the .dsc are still verified.
}

# mbedTLS features we switch off: DTLS, the TLS server side, and cipher families
# and curves no API server we talk to offers. TLS 1.3 and 1.2 stay on (ECDHE
# with AES-GCM and ChaCha20-Poly1305; P-256, P-384, P-521, X25519; RSA and ECDSA).
MBEDTLS_UNSET="
MBEDTLS_SSL_PROTO_DTLS MBEDTLS_SSL_DTLS_ANTI_REPLAY MBEDTLS_SSL_DTLS_HELLO_VERIFY
MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE MBEDTLS_SSL_DTLS_CONNECTION_ID MBEDTLS_SSL_DTLS_SRTP
MBEDTLS_SSL_SRV_C MBEDTLS_SSL_TICKET_C MBEDTLS_SSL_CACHE_C MBEDTLS_SSL_COOKIE_C
MBEDTLS_SSL_RENEGOTIATION MBEDTLS_SSL_CONTEXT_SERIALIZATION MBEDTLS_SSL_EARLY_DATA
MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
MBEDTLS_KEY_EXCHANGE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_DHE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED
MBEDTLS_KEY_EXCHANGE_RSA_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_DHE_RSA_ENABLED MBEDTLS_KEY_EXCHANGE_RSA_ENABLED
MBEDTLS_KEY_EXCHANGE_ECDH_ECDSA_ENABLED MBEDTLS_KEY_EXCHANGE_ECDH_RSA_ENABLED MBEDTLS_KEY_EXCHANGE_ECJPAKE_ENABLED
MBEDTLS_DHM_C MBEDTLS_ECJPAKE_C MBEDTLS_CAMELLIA_C MBEDTLS_ARIA_C MBEDTLS_DES_C MBEDTLS_CCM_C
MBEDTLS_CMAC_C MBEDTLS_NIST_KW_C MBEDTLS_RIPEMD160_C MBEDTLS_LMS_C MBEDTLS_PKCS7_C
MBEDTLS_CIPHER_MODE_CFB MBEDTLS_CIPHER_MODE_OFB MBEDTLS_CIPHER_MODE_XTS MBEDTLS_CIPHER_MODE_CTR
MBEDTLS_ECP_DP_SECP192R1_ENABLED MBEDTLS_ECP_DP_SECP224R1_ENABLED MBEDTLS_ECP_DP_SECP192K1_ENABLED
MBEDTLS_ECP_DP_SECP224K1_ENABLED MBEDTLS_ECP_DP_SECP256K1_ENABLED MBEDTLS_ECP_DP_BP256R1_ENABLED
MBEDTLS_ECP_DP_BP384R1_ENABLED MBEDTLS_ECP_DP_BP512R1_ENABLED MBEDTLS_ECP_DP_CURVE448_ENABLED
MBEDTLS_X509_CSR_PARSE_C MBEDTLS_X509_CSR_WRITE_C MBEDTLS_X509_CRT_WRITE_C MBEDTLS_X509_CREATE_C
MBEDTLS_PEM_WRITE_C MBEDTLS_GENPRIME MBEDTLS_ECDSA_DETERMINISTIC MBEDTLS_HMAC_DRBG_C
MBEDTLS_SELF_TEST MBEDTLS_VERSION_FEATURES MBEDTLS_TIMING_C MBEDTLS_NET_C
MBEDTLS_PKCS12_C MBEDTLS_PKCS5_C MBEDTLS_PK_PARSE_EC_EXTENDED MBEDTLS_PK_PARSE_EC_COMPRESSED
"

# deps_build FLAVOUR CC CFLAGS — build all five libraries into $BUILD/deps/FLAVOUR.
deps_build() {
	local flavour=$1 cc=$2 cflags=$3 prefix src stamp key t0 opt
	prefix="$BUILD/deps/$flavour"
	src="$BUILD/deps/$flavour-src"
	stamp="$prefix/.stamp"
	key=$( { cat "$MANIFEST" "$VENDOR_DIR/deps.sh" "$VENDOR_DIR"/patches/*; echo "$cc $cflags";
		for p in mbedtls curl cjson lmdb zlib; do deps_revision "$p"; done; } | sha256sum | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
		return 0
	fi
	t0=$(date +%s%N)
	deps_log "building libraries ($flavour: $cc $cflags)"
	rm -rf "$prefix" "$src"
	mkdir -p "$prefix/include" "$prefix/lib" "$src"

	# zlib
	deps_unpack zlib "$src/zlib"
	(cd "$src/zlib" && CC=$cc CFLAGS="$cflags" ./configure --static --prefix="$prefix" &&
		make -j"$JOBS" libz.a && make install) >"$src/zlib.log" 2>&1 || deps_die "zlib build failed; see $src/zlib.log"

	# mbedTLS, with our patches and configuration
	deps_unpack mbedtls "$src/mbedtls"
	for p in "$VENDOR_DIR"/patches/mbedtls-*.patch; do
		(cd "$src/mbedtls" && patch -p1 --forward --quiet <"$p") || deps_die "patch $(basename "$p") does not apply"
	done
	for opt in $MBEDTLS_UNSET; do
		python3 "$src/mbedtls/scripts/config.py" -f "$src/mbedtls/include/mbedtls/mbedtls_config.h" unset "$opt" ||
			deps_die "mbedtls config: cannot unset $opt"
	done
	(cd "$src/mbedtls" && make -j"$JOBS" CC="$cc" AR=ar CFLAGS="$cflags" PERL=false PYTHON=false lib &&
		cp -r include/mbedtls include/psa "$prefix/include/" && cp library/*.a "$prefix/lib/") \
		>"$src/mbedtls.log" 2>&1 || deps_die "mbedtls build failed; see $src/mbedtls.log"

	# curl: libcurl only, HTTP(S) only, no compiled-in CA path (we hand it the
	# CA ourselves: config ca_file, SSL_CERT_FILE, or the embedded bundle).
	deps_unpack curl "$src/curl"
	(cd "$src/curl" && CC=$cc CFLAGS="$cflags" CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" \
		./configure --prefix="$prefix" \
		--disable-shared --enable-static --disable-dependency-tracking \
		--with-mbedtls="$prefix" --with-zlib="$prefix" \
		--without-ca-bundle --without-ca-path --without-ca-fallback --without-ca-embed --disable-ca-search \
		--enable-threaded-resolver \
		--disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
		--disable-pop3 --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-ftp \
		--disable-file --disable-smb --disable-ipfs --disable-manual --disable-docs --disable-ntlm \
		--disable-tls-srp --disable-unix-sockets --disable-alt-svc --disable-websockets \
		--disable-cookies --disable-netrc --disable-doh --disable-mime --disable-form-api \
		--disable-libcurl-option --disable-kerberos-auth --disable-negotiate-auth \
		--without-brotli --without-zstd --without-libpsl --without-libidn2 \
		--without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
		--without-openssl-quic --without-libuv --without-libssh2 --without-libssh --without-wolfssh \
		--without-librtmp --without-libgsasl &&
		make -j"$JOBS" -C lib libcurl.la && make -C lib install && make -C include install) \
		>"$src/curl.log" 2>&1 || deps_die "curl build failed; see $src/curl.log"

	# cJSON
	deps_unpack cjson "$src/cjson"
	(cd "$src/cjson" && make CC="$cc" CFLAGS="$cflags -std=c89" libcjson.a &&
		mkdir -p "$prefix/include/cjson" && cp cJSON.h "$prefix/include/cjson/" && cp libcjson.a "$prefix/lib/") \
		>"$src/cjson.log" 2>&1 || deps_die "cjson build failed; see $src/cjson.log"

	# LMDB
	deps_unpack lmdb "$src/lmdb"
	(cd "$src/lmdb/libraries/liblmdb" && make CC="$cc" OPT="$cflags" liblmdb.a &&
		cp lmdb.h "$prefix/include/" && cp liblmdb.a "$prefix/lib/") \
		>"$src/lmdb.log" 2>&1 || deps_die "lmdb build failed; see $src/lmdb.log"

	echo "$key" >"$stamp"
	deps_log "libraries ($flavour) built in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# The CA bundle embedded into the binary: every Mozilla certificate that Debian's
# ca-certificates package ships, concatenated in a stable order.
deps_ca_bundle() {
	local out=$1 deb tmp
	deb=$(ls "$BUILD/cache"/ca-certificates_*_all.deb | head -n 1)
	[ -f "$out" ] && [ "$out" -nt "$deb" ] && return 0
	tmp="$BUILD/ca-extract"
	rm -rf "$tmp" && mkdir -p "$tmp"
	dpkg-deb -x "$deb" "$tmp" || deps_die "cannot unpack $deb"
	find "$tmp/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$tmp"
}
