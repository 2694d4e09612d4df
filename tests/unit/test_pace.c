/* Unit tests: pace.c (token bucket, header-driven limits, quota stop, AIMD). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "http.h"
#include "log.h"
#include "pace.h"
#include "t.h"

/* A response with the given "name: value" headers (NULL-terminated pairs). */
static struct http_resp
resp(long status, const char *const *kv)
{
	struct http_resp r;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.status = status;
	while (kv != NULL && kv[n * 2] != NULL)
		n++;
	r.headers = xcalloc(n + 1, sizeof(*r.headers));
	for (i = 0; i < n; i++) {
		r.headers[i].name = xstrdup(kv[i * 2]);
		r.headers[i].value = xstrdup(kv[i * 2 + 1]);
	}
	r.nheaders = n;
	return r;
}

/* Takes tokens as fast as allowed for ms milliseconds of (simulated) waits. */
static int
drain(struct pace *p, int n)
{
	int i, went = 0;

	for (i = 0; i < n; i++)
		if (pace_before(p) == 0)
			went++;
	return went;
}

/* Defect #11: rate-limit header numbers were read with strtod/parse_i64 and
 * multiplied unchecked: "inf" or a huge value cast to long, or "* 1000",
 * is undefined behaviour (UBSan aborts the old code). Now plain decimals
 * only, clamped; garbage is ignored. */
static void
test_defect11_header_overflow(void)
{
	struct pace *p;
	struct pace_info info;
	struct http_resp r;
	static const char *const bad[] = { "inf", "nan", "-nan", "1e999", "-5", "0x10",
		"99999999999999999999999999", "9223372036854775807", "1|inf", NULL };
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		const char *kv[] = { "x-keap-product-throttle-limit", bad[i],
			"x-keap-product-throttle-time-unit", "second",
			"x-keap-product-throttle-interval", "1",
			"x-keap-product-throttle-available", bad[i],
			"x-keap-product-quota-available", bad[i],
			"x-keap-product-quota-expiry-time", bad[i],
			"x-ratelimit-remaining", "0",
			"x-ratelimit-limit", bad[i],
			"x-ratelimit-reset", bad[i], NULL };

		p = pace_new("t", 10, 1);
		r = resp(200, kv);
		pace_after(p, &r);
		pace_get(p, &info);
		CHECK(info.rate > 0 && info.rate <= 10.0);
		CHECK(!info.exhausted);
		CHECK(info.quota_left == -1 || (info.quota_left >= 0 && info.quota_left <= 1000000000L));
		CHECK(info.quota_reset_ms >= 0 && info.quota_reset_ms <= 253402300799999LL);
		CHECK(pace_before(p) >= 0);
		http_resp_free(&r);
		pace_free(p);
	}
	/* a huge remaining count is clamped, not cast past a long */
	{
		const char *kv[] = { "x-keap-product-throttle-limit", "25",
			"x-keap-product-throttle-time-unit", "second",
			"x-keap-product-throttle-available", "1e300",
			"x-ratelimit-remaining", "99999999999999999999", NULL };

		p = pace_new("t", 10, 1);
		r = resp(200, kv);
		pace_after(p, &r);
		pace_get(p, &info);
		CHECK(info.throttle_left == -1 || (info.throttle_left >= 0 &&
		    info.throttle_left <= 1000000000L));
		http_resp_free(&r);
		pace_free(p);
	}
	/* a reset far in the future holds no longer than the 2-minute cap */
	{
		const char *kv[] = { "x-ratelimit-remaining", "0", "x-ratelimit-limit", "100",
			"x-ratelimit-reset", "9223372036854775807", NULL };

		p = pace_new("t", 10, 1);
		r = resp(200, kv);
		pace_after(p, &r);
		CHECK(pace_before(p) >= 0 && pace_before(p) <= 120000);
		http_resp_free(&r);
		pace_free(p);
	}
}

int
main(void)
{
	struct pace *p;
	struct pace_info info;
	struct http_resp r;
	long w;

	log_init(LOG_OFF, LOG_FMT_TEXT);

	/* bucket: one token at start, then 10/s */
	p = pace_new("t", 10, 1);
	CHECK(pace_before(p) == 0);
	w = pace_before(p);
	CHECK(w > 50 && w <= 101);
	pace_free(p);

	/* Keap throttle headers: a 25-per-second window is learned (with a margin) */
	p = pace_new("keap", 100, 1);
	{
		const char *kv[] = { "x-keap-product-throttle-limit", "25",
			"x-keap-product-throttle-time-unit", "second",
			"x-keap-product-throttle-interval", "1",
			"x-keap-product-throttle-available", "20",
			"x-keap-product-quota-available", "1000",
			"x-keap-product-quota-expiry-time", "1771459200000", NULL };
		r = resp(200, kv);
	}
	pace_after(p, &r);
	pace_get(p, &info);
	CHECK(info.rate > 23.0 && info.rate < 25.0);
	CHECK(info.quota_left == 1000 && info.quota_reset_ms == 1771459200000LL);
	CHECK(info.throttle_left == 20);
	CHECK(!info.exhausted);
	http_resp_free(&r);

	/* tenant headers with two windows in one value: minute|day; the day is a quota */
	{
		const char *kv[] = { "x-keap-tenant-throttle-limit", "600|250000",
			"x-keap-tenant-throttle-time-unit", "minute|day",
			"x-keap-tenant-throttle-interval", "1|1",
			"x-keap-tenant-throttle-available", "500|200000", NULL };
		r = resp(200, kv);
	}
	pace_after(p, &r);
	pace_get(p, &info);
	CHECK(info.rate > 9.0 && info.rate <= 9.5);	/* 600/min = 10/s, minus the margin */
	http_resp_free(&r);

	/* a window running dry makes the bucket wait before the 429 */
	{
		const char *kv[] = { "x-keap-product-throttle-limit", "25",
			"x-keap-product-throttle-time-unit", "second",
			"x-keap-product-throttle-interval", "1",
			"x-keap-product-throttle-available", "0", NULL };
		r = resp(200, kv);
	}
	pace_after(p, &r);
	CHECK(pace_before(p) > 0);
	http_resp_free(&r);

	/* daily quota gone: stop, with the reset time known */
	{
		const char *kv[] = { "x-keap-product-quota-available", "0",
			"x-keap-product-quota-expiry-time", "1771459200000", NULL };
		r = resp(429, kv);
	}
	pace_after(p, &r);
	pace_get(p, &info);
	CHECK(info.exhausted && info.quota_left == 0);
	CHECK(pace_before(p) == -1);
	http_resp_free(&r);
	pace_free(p);

	/* unparseable values are ignored, never read as 0 */
	p = pace_new("keap", 10, 1);
	{
		const char *kv[] = { "x-keap-product-quota-available", "lots",
			"x-keap-product-throttle-available", "n/a", NULL };
		r = resp(200, kv);
	}
	pace_after(p, &r);
	pace_get(p, &info);
	CHECK(!info.exhausted && info.quota_left == -1 && info.throttle_left == -1);
	http_resp_free(&r);
	pace_free(p);

	/* Greenhouse: Remaining 0 → wait until Reset (seconds from now here) */
	p = pace_new("greenhouse", 50, 5);
	{
		const char *kv[] = { "x-ratelimit-remaining", "0", "x-ratelimit-reset", "3", NULL };
		r = resp(200, kv);
	}
	pace_after(p, &r);
	w = pace_before(p);
	CHECK(w > 2000 && w <= 3000);
	http_resp_free(&r);
	pace_free(p);

	/* no headers: 429s cut the rate, good answers win it back */
	p = pace_new("lever", 10, 20);
	CHECK(drain(p, 1) == 1);
	r = resp(429, NULL);
	pace_after(p, &r);
	pace_after(p, &r);
	pace_get(p, &info);
	CHECK(info.rate > 6.3 && info.rate < 6.5);	/* 10 * 0.8 * 0.8 */
	for (int i = 0; i < 20; i++)
		pace_after(p, &r);
	pace_get(p, &info);
	CHECK(info.rate > 2.49 && info.rate < 2.51);	/* the floor: a quarter */
	http_resp_free(&r);
	r = resp(200, NULL);
	for (int i = 0; i < 800; i++)
		pace_after(p, &r);
	http_resp_free(&r);
	pace_get(p, &info);
	CHECK(info.rate > 9.99 && info.rate <= 10.0);
	pace_free(p);
	test_defect11_header_overflow();

	/* issue 16 defect 11 (found again by fuzz_headers): header numbers out of range
	 * are refused or capped, never overflowed (UBSan stops the dev build on overflow) */
	p = pace_new("keap", 10, 1);
	{
		static const char *const huge[] = {
			"x-ratelimit-remaining", "0", "x-ratelimit-reset", "1796643060796643240",
			"x-keap-product-quota-available", "inf", "x-keap-product-throttle-limit", "1e-300",
			"x-keap-product-throttle-time-unit", "minute", "x-keap-product-throttle-interval",
			"1", "x-keap-product-throttle-available", "0", "x-keap-tenant-throttle-limit", "nan",
			"x-keap-tenant-throttle-time-unit", "second", "x-keap-tenant-throttle-available",
			"1e300", NULL
		};
		r = resp(200, huge);
		pace_after(p, &r);
		http_resp_free(&r);
		pace_get(p, &info);
		CHECK(info.quota_left == -1 && !info.exhausted);	/* "inf" is not a quota */
		w = pace_before(p);
		CHECK(w >= 0 && w <= 60000);	/* held at most for the window */
	}
	pace_free(p);
	return t_done("test_pace");
}
