/*
 * bench/calls.h — a pull bench's ATS calls against the listing minimum
 * (issue 17 item 7): the fewest calls that can read every record a full sweep
 * needs, i.e. each collection listed whole at the source's largest page, plus
 * the one call that opens the session (a token, a key check) when the source
 * makes one. Target: at most 1.1 times the minimum.
 */
#ifndef ATSRECON_BENCH_CALLS_H
#define ATSRECON_BENCH_CALLS_H

#include <stdio.h>

/* Pages to list n records at per_page a page (an empty listing is one page). */
static inline long
calls_pages(long n, long per_page)
{
	return n <= 0 ? 1 : (n + per_page - 1) / per_page;
}

/* Prints the calls line: calls made, per person, the minimum and how it is
 * made up (how), and the ratio against the 1.1 target. */
static inline void
calls_report(long calls, long people, long minimum, const char *how)
{
	double ratio = minimum > 0 ? (double)calls / (double)minimum : 0.0;

	printf("  ATS calls              %ld (%.4f per person)\n", calls,
	    (double)calls / (double)(people ? people : 1));
	printf("  listing minimum        %ld (%.4f per person) = %s\n", minimum,
	    (double)minimum / (double)(people ? people : 1), how);
	if (minimum > 0)
		printf("  calls / minimum        %.2f x   target: <= 1.10 x (%s)\n", ratio,
		    ratio <= 1.1 ? "met" : "NOT met");
	else
		printf("  calls / minimum        no calls: a local file   target: met\n");
}

#endif
