/* Unit tests: util.c (buffers, parsing, atomic writes, URL policy, UTF-8). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "util.h"

static void
test_buf(void)
{
	struct buf b = BUF_INIT;
	char *s;
	int i;

	buf_adds(&b, "abc");
	buf_addc(&b, '-');
	buf_addf(&b, "%d/%s", 42, "x");
	CHECK_STR(b.p, "abc-42/x");
	CHECK(b.len == 8);
	for (i = 0; i < 10000; i++)
		buf_addc(&b, 'z');
	CHECK(b.len == 10008 && b.p[b.len] == '\0');
	buf_reset(&b);
	CHECK(b.len == 0 && b.p[0] == '\0');
	s = buf_take(&b);
	CHECK(s != NULL && s[0] == '\0' && b.p == NULL);
	free(s);
	s = buf_take(&b);	/* never NULL, even when empty */
	CHECK_STR(s, "");
	free(s);
	{
		/* a buf in the caller's array: used while it fits, then the heap */
		char arr[8];
		buf_on(&b, arr, sizeof(arr));
		buf_adds(&b, "abcdefg");
		CHECK(b.p == arr && b.len == 7);
		s = buf_take(&b);	/* a heap copy: the array is the caller's */
		CHECK(s != arr);
		CHECK_STR(s, "abcdefg");
		free(s);
		buf_on(&b, arr, sizeof(arr));
		buf_adds(&b, "abcdefg");
		buf_adds(&b, "hij");	/* past the array: moved */
		CHECK(b.p != arr && b.len == 10);
		CHECK_STR(b.p, "abcdefghij");
		CHECK_STR(arr, "abcdefg");
		buf_free(&b);
		buf_on(&b, arr, sizeof(arr));
		buf_free(&b);	/* nothing allocated, nothing freed (ASan: no bad free) */
		CHECK(b.p == NULL && !b.borrowed);
	}
}

/* memcpy as the binary links it (the release build: src/memcopy.c's, for
 * short copies): every size to 600 at every alignment, nothing outside touched */
static void
test_memcpy(void)
{
	static unsigned char src[640], dst[640];
	size_t n, so, d0, i, bad = 0, big = 0;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= 600; n++)
		for (so = 0; so < 8; so++)
			for (d0 = 0; d0 < 8; d0++) {
				memset(dst, 0xAA, sizeof(dst));
				if (memcpy(dst + d0, src + so, n) != dst + d0)
					bad++;
				for (i = 0; i < sizeof(dst); i++)
					if (dst[i] != (i >= d0 && i < d0 + n ? src[so + i - d0] : 0xAA))
						bad++;
				big += n >= 256;
			}
	CHECK(bad == 0);
	CHECK(big > 0);	/* the long copies (musl's own in release) were tried too */
}

/* u64_sort / u64_has: random, sorted, reversed, equal and few-valued
 * arrays of every small length and a large one; sorted, same values */
static void
test_u64(void)
{
	static uint64_t v[20000];
	size_t shape, n, i, bad = 0;
	uint64_t x = 88172645463325252ULL;

	for (shape = 0; shape < 5; shape++)
		for (n = 0; n <= 20000; n = n < 70 ? n + 1 : n * 3) {
			uint64_t sum = 0, sum2 = 0;
			for (i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				v[i] = shape == 0 ? x : shape == 1 ? i : shape == 2 ? n - i : shape == 3 ? 7 : x % 3;
				sum += v[i] * 2654435761ULL + (v[i] >> 3);
			}
			u64_sort(v, n);
			for (i = 0; i < n; i++) {
				sum2 += v[i] * 2654435761ULL + (v[i] >> 3);
				bad += i > 0 && v[i - 1] > v[i];
				bad += !u64_has(v, n, v[i]);
			}
			bad += sum != sum2;
			bad += n > 0 && shape == 1 && u64_has(v, n, (uint64_t)n);
		}
	CHECK(bad == 0);
	CHECK(!u64_has(NULL, 0, 1));
}

static void
test_parse(void)
{
	int64_t v = -1;

	CHECK(parse_i64("0", &v) == 0 && v == 0);
	CHECK(parse_i64("-17", &v) == 0 && v == -17);
	CHECK(parse_i64("9223372036854775807", &v) == 0 && v == INT64_MAX);
	CHECK(parse_i64("9223372036854775808", &v) != 0);
	CHECK(parse_i64("12a", &v) != 0);
	CHECK(parse_i64("", &v) != 0);
	CHECK(parse_i64(" 1", &v) != 0);
	CHECK(parse_i64("+1", &v) != 0);

	CHECK(parse_duration("90", &v) == 0 && v == 90);
	CHECK(parse_duration("90s", &v) == 0 && v == 90);
	CHECK(parse_duration("15m", &v) == 0 && v == 900);
	CHECK(parse_duration("36h", &v) == 0 && v == 129600);
	CHECK(parse_duration("7d", &v) == 0 && v == 604800);
	CHECK(parse_duration("1h30m", &v) == 0 && v == 5400);
	CHECK(parse_duration("1h30", &v) != 0);
	CHECK(parse_duration("5w", &v) != 0);
	CHECK(parse_duration("-5s", &v) != 0);
	CHECK(parse_duration("", &v) != 0);
	CHECK(parse_duration("99999999999999999999s", &v) != 0);
}

static void
test_strings(void)
{
	char small[4];

	CHECK(str_copy(small, sizeof(small), "abcdef") == 6);
	CHECK_STR(small, "abc");
	CHECK(str_eq(NULL, NULL) && !str_eq("a", NULL) && str_eq("a", "a"));
	CHECK(str_has_prefix("https://x", "https://") && !str_has_prefix("http", "https"));
}

static void
test_atomic_write(void)
{
	char dir[] = "/tmp/atsrecon-t-XXXXXX";
	struct buf path = BUF_INIT, got = BUF_INIT;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	buf_addf(&path, "%s/out.json", dir);
	CHECK(atomic_write(path.p, "first", 5, 0600) == 0);
	CHECK(atomic_write(path.p, "second", 6, 0644) == 0);
	CHECK(read_file(path.p, 100, &got) == 0);
	CHECK_STR(got.p, "second");
	CHECK(stat(path.p, &st) == 0 && (st.st_mode & 0777) == 0644);
	buf_reset(&got);
	CHECK(read_file(path.p, 3, &got) != 0 && errno == EFBIG);
	/* a directory that does not exist: error, nothing left behind */
	buf_reset(&path);
	buf_addf(&path, "%s/missing/out.json", dir);
	CHECK(atomic_write(path.p, "x", 1, 0600) != 0);
	buf_reset(&path);
	buf_addf(&path, "%s/out.json", dir);
	/* in pieces: the old file stays whole until the commit; an abort keeps it */
	{
		struct atomic_file f;
		CHECK(atomic_open(&f, path.p, 0600) == 0);
		atomic_add(&f, "th", 2);
		atomic_add(&f, "ird", 3);
		buf_reset(&got);
		CHECK(read_file(path.p, 100, &got) == 0);
		CHECK_STR(got.p, "second");
		CHECK(atomic_commit(&f, path.p) == 0);
		buf_reset(&got);
		CHECK(read_file(path.p, 100, &got) == 0);
		CHECK_STR(got.p, "third");
		CHECK(atomic_open(&f, path.p, 0600) == 0);
		atomic_add(&f, "dropped", 7);
		atomic_abort(&f);
		buf_reset(&got);
		CHECK(read_file(path.p, 100, &got) == 0);
		CHECK_STR(got.p, "third");
	}
	unlink(path.p);
	CHECK(rmdir(dir) == 0);	/* empty: no temporary file leaked */
	buf_free(&path);
	buf_free(&got);
}

static void
test_url_policy(void)
{
	CHECK(url_allowed("https://api.infusionsoft.com/crm/rest"));
	CHECK(url_allowed("https://localhost:8443/x"));
	CHECK(url_allowed("http://localhost:8080/x"));
	CHECK(url_allowed("http://127.0.0.1:9/"));
	CHECK(url_allowed("http://127.1.2.3"));
	CHECK(url_allowed("http://[::1]:80/"));
	CHECK(!url_allowed("http://api.infusionsoft.com/"));
	CHECK(!url_allowed("http://localhost.evil.com/"));
	CHECK(!url_allowed("http://127.0.0.1.evil.com/"));
	CHECK(!url_allowed("http://10.0.0.1/"));
	CHECK(!url_allowed("https://user:pw@api.example.com/"));
	CHECK(!url_allowed("http://user@localhost/"));
	CHECK(!url_allowed("ftp://localhost/"));
	CHECK(!url_allowed("https://"));
	CHECK(!url_allowed("https:///path"));
	CHECK(!url_allowed("https://a b/"));
}

static void
test_utf8_and_time(void)
{
	char ts[32];

	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("J\xc3\xbcrgen", 7));
	CHECK(!utf8_valid("\xc3", 1));			/* truncated */
	CHECK(!utf8_valid("\xc0\xaf", 2));		/* overlong */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));		/* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	CHECK(utf8_valid("\xf0\x9f\x98\x80", 4));	/* emoji */
	fmt_rfc3339_ms(1767607200000LL, ts, sizeof(ts));
	CHECK_STR(ts, "2026-01-05T10:00:00.000Z");
	fmt_rfc3339_ms(1767607200123LL, ts, sizeof(ts));
	CHECK_STR(ts, "2026-01-05T10:00:00.123Z");
	CHECK(mono_ms() > 0 && now_ms() > 1700000000000LL);
}

static void
test_rc(void)
{
	CHECK(rc_exit_status(RC_OK) == 0);
	CHECK(rc_exit_status(RC_RECORD) == 1);
	CHECK(rc_exit_status(RC_USAGE) == 2);
	CHECK(rc_exit_status(RC_CONFIG) == 3);
	CHECK(rc_exit_status(RC_AUTH) == 4);
	CHECK(rc_exit_status(RC_REMOTE) == 5);
	CHECK(rc_exit_status(RC_GUARD) == 6);
	CHECK(rc_exit_status(RC_QUOTA) == 7);
	CHECK(rc_exit_status(RC_STALE) == 8);
	CHECK(rc_exit_status(RC_STATE) == 9);
	CHECK(rc_exit_status(RC_LOCKED) == 75);
	CHECK(rc_exit_status(RC_BUG) == 70);
}

int
main(void)
{
	test_buf();
	test_memcpy();
	test_u64();
	test_parse();
	test_strings();
	test_atomic_write();
	test_url_policy();
	test_utf8_and_time();
	test_rc();
	return t_done("test_util");
}
