#!/usr/bin/env bash
# Integration: the pinned-source fetch (vendor/deps.sh) — cache reuse, a changed
# checksum stops the build, and a pinned revision that the archive no longer
# serves falls back to a served revision with the same upstream tarball.
# Uses a private copy of the download cache; only zlib is fetched again.
. "$(dirname "$0")/../lib.sh"

V="$T_TMP/vendor"
mkdir -p "$V/patches" "$T_TMP/b/cache"
cp "$TOP/vendor/deps.sh" "$V/"
cp "$TOP"/vendor/patches/* "$V/patches/"
cp "$TOP"/build/cache/* "$T_TMP/b/cache/" 2>/dev/null
fetch() { (BUILD="$T_TMP/b" VENDOR_DIR="$V" JOBS=1 bash -c '. "$VENDOR_DIR/deps.sh"; deps_fetch'); }

# 1. everything cached: nothing is fetched (no apt directory appears)
cp "$TOP/vendor/MANIFEST" "$V/MANIFEST"
expect_rc 0 "fetch with a complete cache" fetch
check "a complete cache needs no apt" test ! -e "$T_TMP/b/apt"

# 2. a changed upstream checksum stops the build
rm -f "$T_TMP/b/cache"/zlib_*
sed -E 's/^(zlib .*\.orig\.tar\.gz +)[0-9a-f]{64}$/\1'"$(printf '0%.0s' $(seq 64))"'/' "$TOP/vendor/MANIFEST" >"$V/MANIFEST"
expect_rc 1 "a changed orig sha256 stops the build" fetch
check "the message names the file and refuses" err_has "refusing to build"

# 3. the pinned revision is gone: fall back to the served one with the same orig
rm -f "$T_TMP/b/cache"/zlib_* "$T_TMP/b/cache/zlib.revision"
sed -E 's/^zlib +1:1\.3\.dfsg\+really1\.3\.1-1 /zlib     1:1.3.dfsg+really1.3.1-0~gone /' "$TOP/vendor/MANIFEST" >"$V/MANIFEST"
expect_rc 0 "a vanished pinned revision falls back" fetch
check "the fallback is announced" err_has "is not served any more"
check "the revision used is printed" err_has "zlib: using Debian revision 1:1.3.dfsg+really1.3.1-"
check "the fallback's orig tarball is the pinned one" \
	test "$(sha256sum "$T_TMP/b/cache/zlib_1.3.dfsg+really1.3.1.orig.tar.gz" | cut -d' ' -f1)" = \
	"$(awk '$3 ~ /^zlib_.*orig/ { print $4 }' "$TOP/vendor/MANIFEST")"

t_done
