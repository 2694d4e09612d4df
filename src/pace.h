/*
 * pace.h — the request budget of one API, shared by every client of it.
 *
 * A token bucket at the configured ceiling (requests per second, with a small
 * burst), tightened by what the server says about its own limits on every
 * response, so that a run slows down BEFORE a limit is hit instead of after a
 * 429:
 *
 *   Keap     x-keap-product-throttle-*, x-keap-tenant-throttle-* (limit, time-unit,
 *            interval, available; values may be "|"-lists of windows): the rate is
 *            held under limit/window, and when "available" runs low the bucket
 *            waits; x-keap-product-quota-available reaching 0 (the daily quota)
 *            stops the run (RC_QUOTA) with the reset time from
 *            x-keap-product-quota-expiry-time.
 *   Greenhouse and others  X-RateLimit-Remaining / X-RateLimit-Reset (epoch seconds
 *            or seconds from now): when Remaining is low, wait until Reset.
 *   no headers (Lever)  the configured rate; a 429 cuts the rate by 20 % (down to
 *            a quarter at most), and each run of 20 good answers wins 5 % of it
 *            back (AIMD).
 *
 * pace_before and pace_after have the signatures of struct http_pacer.
 */
#ifndef ATSRECON_PACE_H
#define ATSRECON_PACE_H

#include <stdint.h>

struct http_resp;
struct pace;

/* name: for logs ("keap"); rps: ceiling (> 0); burst: bucket size (>= 1). */
struct pace *pace_new(const char *name, double rps, int burst);
void pace_free(struct pace *);

/* 0: go now (a token is taken); N > 0: wait N ms; -1: quota exhausted, stop. */
long pace_before(void *pace);
void pace_after(void *pace, const struct http_resp *);

struct pace_info {
	double rate;			/* requests/s the bucket allows now */
	double ceiling;			/* configured requests/s */
	long quota_left;		/* daily quota left (-1: unknown) */
	int64_t quota_reset_ms;		/* epoch ms when it resets (0: unknown) */
	long throttle_left;		/* smallest "available" of the short windows (-1: unknown) */
	int exhausted;			/* daily quota used up */
	long waits;			/* times the bucket made a request wait */
	long waited_ms;
};
void pace_get(const struct pace *, struct pace_info *);

#endif
