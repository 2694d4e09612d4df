/*
 * t.h — the unit-test harness: CHECK macros that count, print a line for each
 * failure (file:line and the expression), and t_done() which prints the
 * closing "N passed, N failed" line that tests/run.sh and CI read.
 */
#ifndef ATSRECON_T_H
#define ATSRECON_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond) \
	do { \
		if (cond) \
			t_pass++; \
		else { \
			t_fail++; \
			printf("not ok - %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *t_a = (a), *t_b = (b); \
		if (t_a != NULL && t_b != NULL && strcmp(t_a, t_b) == 0) \
			t_pass++; \
		else { \
			t_fail++; \
			printf("not ok - %s:%d: %s == %s (got \"%s\", want \"%s\")\n", __FILE__, \
			    __LINE__, #a, #b, t_a ? t_a : "(null)", t_b ? t_b : "(null)"); \
		} \
	} while (0)

#define CHECK_CONTAINS(hay, needle) \
	do { \
		const char *t_h = (hay), *t_n = (needle); \
		if (t_h != NULL && strstr(t_h, t_n) != NULL) \
			t_pass++; \
		else { \
			t_fail++; \
			printf("not ok - %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
			    t_h ? t_h : "(null)", t_n); \
		} \
	} while (0)

/* Runs the test function f and prints how long it took (mono_ms, util.h). */
#define TIMED(f) \
	do { \
		int64_t t0_ = mono_ms(); \
		f(); \
		printf("# %s: %lld ms\n", #f, (long long)(mono_ms() - t0_)); \
	} while (0)

/* How many times needle occurs in text (NULL: none). */
static inline size_t
t_count(const char *text, const char *needle)
{
	size_t n = 0;
	const char *p;

	for (p = text; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static int
t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
	return t_fail != 0;
}

#endif
