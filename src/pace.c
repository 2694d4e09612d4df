/* pace.c — see pace.h. */
#define _POSIX_C_SOURCE 200809L
#include "pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define RATE_MARGIN 0.95	/* stay this far under a limit the server announces */
#define MAX_WINDOWS 4
#define AIMD_FLOOR 0.25		/* a 429 storm slows us to a quarter, never to a crawl */
#define AIMD_RECOVER 20		/* good answers in a row that win back 5 % */

struct pace {
	char *name;
	double ceiling;		/* configured */
	double learned;		/* from the server's announced limits; 0: none */
	double aimd;		/* multiplier after 429s without headers, (0, 1] */
	int burst;
	double tokens;
	int64_t last_ms;	/* mono time of the last refill */
	int64_t hold_until;	/* mono time before which nothing starts */
	long good_run;
	struct pace_info info;
};

struct pace *
pace_new(const char *name, double rps, int burst)
{
	struct pace *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->ceiling = rps > 0 ? rps : 1;
	p->aimd = 1.0;
	p->burst = burst < 1 ? 1 : burst;
	p->tokens = 1;		/* start gently: one request, then the rate */
	p->last_ms = mono_ms();
	p->info.quota_left = -1;
	p->info.throttle_left = -1;
	return p;
}

void
pace_free(struct pace *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p);
}

static double
rate_now(const struct pace *p)
{
	double r = p->ceiling;

	if (p->learned > 0 && p->learned < r)
		r = p->learned;
	return r * p->aimd;
}

long
pace_before(void *arg)
{
	struct pace *p = arg;
	int64_t now = mono_ms();
	double rate = rate_now(p);
	long wait;

	if (p->info.exhausted)
		return -1;
	if (p->hold_until > now) {
		wait = (long)(p->hold_until - now);
		goto waiting;
	}
	p->tokens += (double)(now - p->last_ms) * rate / 1000.0;
	if (p->tokens > p->burst)
		p->tokens = p->burst;
	p->last_ms = now;
	if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
		return 0;
	}
	wait = (long)((1.0 - p->tokens) * 1000.0 / rate) + 1;
waiting:
	p->info.waits++;
	p->info.waited_ms += wait;
	return wait;
}

/* Splits a "|"-list of numbers; returns how many were read (0 if any is bad). */
static int
split_nums(const char *v, double *out, int max)
{
	int n = 0;

	while (v != NULL && *v != '\0' && n < max) {
		char *end;
		double d = strtod(v, &end);

		if (end == v || !(d >= 0) || d > 1e15)
			return 0;	/* negative, NaN, inf or absurd: not a limit */
		out[n++] = d;
		while (*end == ' ')
			end++;
		if (*end == '|')
			end++;
		else if (*end != '\0')
			return 0;
		v = end;
	}
	return n;
}

static int
split_units(const char *v, double *secs, int max)
{
	int n = 0;

	while (v != NULL && *v != '\0' && n < max) {
		size_t len = strcspn(v, "|");
		double s = 0;

		if (len >= 6 && strncmp(v, "second", 6) == 0)
			s = 1;
		else if (len >= 6 && strncmp(v, "minute", 6) == 0)
			s = 60;
		else if (len >= 4 && strncmp(v, "hour", 4) == 0)
			s = 3600;
		else if (len >= 3 && strncmp(v, "day", 3) == 0)
			s = 86400;
		else
			return 0;
		secs[n++] = s;
		v += len;
		if (*v == '|')
			v++;
	}
	return n;
}

/* One Keap header family ("x-keap-product-throttle"): learn its windows. */
static void
keap_family(struct pace *p, const struct http_resp *r, const char *fam, double *learned,
    long *low)
{
	char name[96];
	double lim[MAX_WINDOWS], avail[MAX_WINDOWS], unit[MAX_WINDOWS], intv[MAX_WINDOWS];
	int nl, na, nu, ni, i;

	snprintf(name, sizeof(name), "%s-limit", fam);
	nl = split_nums(http_header(r, name), lim, MAX_WINDOWS);
	snprintf(name, sizeof(name), "%s-available", fam);
	na = split_nums(http_header(r, name), avail, MAX_WINDOWS);
	snprintf(name, sizeof(name), "%s-time-unit", fam);
	nu = split_units(http_header(r, name), unit, MAX_WINDOWS);
	snprintf(name, sizeof(name), "%s-interval", fam);
	ni = split_nums(http_header(r, name), intv, MAX_WINDOWS);
	for (i = 0; i < na; i++) {
		double window = i < nu ? unit[i] * (i < ni && intv[i] > 0 ? intv[i] : 1) : 0;

		if (window <= 0 || window > 3600)
			continue;	/* daily buckets are quotas, not rates */
		if (i < nl && lim[i] > 0) {
			double rate = lim[i] / window * RATE_MARGIN;
			if (*learned == 0 || rate < *learned)
				*learned = rate;
			/* running low: spread what is left over a fair share of the window */
			if (avail[i] <= lim[i] * 0.05 + 1) {
				double wait = window * 1000.0 / lim[i] * (lim[i] * 0.05 + 2 - avail[i]);
				int64_t hold;

				if (wait > window * 1000.0)
					wait = window * 1000.0;	/* never longer than the window */
				hold = mono_ms() + (int64_t)wait;
				if (hold > p->hold_until)
					p->hold_until = hold;
			}
		}
		if (*low < 0 || avail[i] < *low)
			*low = (long)avail[i];
	}
}

void
pace_after(void *arg, const struct http_resp *r)
{
	struct pace *p = arg;
	const char *v;
	double learned = 0, q;
	long low = -1;
	int64_t n;

	/* Keap */
	keap_family(p, r, "x-keap-product-throttle", &learned, &low);
	keap_family(p, r, "x-keap-tenant-throttle", &learned, &low);
	v = http_header(r, "x-keap-product-quota-available");
	if (v != NULL && split_nums(v, &q, 1) == 1) {
		p->info.quota_left = (long)q;
		if (parse_i64(http_header(r, "x-keap-product-quota-expiry-time") ?
		    http_header(r, "x-keap-product-quota-expiry-time") : "", &n) == 0)
			p->info.quota_reset_ms = n;
		if (q <= 0 && !p->info.exhausted) {
			char when[32] = "an unknown time";
			if (p->info.quota_reset_ms > 0)
				fmt_rfc3339_ms(p->info.quota_reset_ms, when, sizeof(when));
			log_warn("pace", "%s: daily API quota exhausted; it resets at %s", p->name, when);
			p->info.exhausted = 1;
		}
	}
	/* Greenhouse-style fixed windows */
	v = http_header(r, "x-ratelimit-remaining");
	if (v != NULL && parse_i64(v, &n) == 0) {
		int64_t reset = 0, lim = 0;
		if (low < 0 || n < low)
			low = (long)n;
		parse_i64(http_header(r, "x-ratelimit-limit") ? http_header(r, "x-ratelimit-limit") : "",
		    &lim);
		if (n <= 1 || (lim > 0 && n <= lim / 20)) {
			const char *rs = http_header(r, "x-ratelimit-reset");
			/* seconds from now, or epoch seconds (before the year 5000) */
			if (rs != NULL && parse_i64(rs, &reset) == 0 && reset >= 0 &&
			    reset < 100000000000LL) {
				int64_t wait_ms = reset > 1000000000LL ? (reset * 1000 - now_ms()) : reset * 1000;
				if (wait_ms > 0 && wait_ms <= 120000 && mono_ms() + wait_ms > p->hold_until)
					p->hold_until = mono_ms() + wait_ms;
			}
		}
	}
	if (learned > 0)
		p->learned = learned;
	if (low >= 0)
		p->info.throttle_left = low;
	/* AIMD for servers that say nothing until they say 429 */
	if (r->status == 429) {
		p->aimd *= 0.8;
		if (p->aimd < AIMD_FLOOR)
			p->aimd = AIMD_FLOOR;
		p->good_run = 0;
		p->tokens = 0;
	} else if (r->status > 0 && r->status < 400 && p->aimd < 1.0 && ++p->good_run >= AIMD_RECOVER) {
		p->aimd *= 1.05;
		if (p->aimd > 1.0)
			p->aimd = 1.0;
		p->good_run = 0;
	}
}

void
pace_get(const struct pace *p, struct pace_info *out)
{
	*out = p->info;
	out->rate = rate_now(p);
	out->ceiling = p->ceiling;
}
