/*
 * spill.h — records grouped by key on disk, for a driver that must join two
 * listings (or group one) without holding either in memory (issue 17 item 7).
 *
 * A plain, unlinked temporary file (not the state): records (a key of at most
 * SPILL_KEY_MAX bytes and an opaque payload of at most SPILL_REC_MAX bytes)
 * gather in a fixed arena, which is sorted by key, DESCENDING, and written out
 * as one sorted run whenever it fills. Reading merges the runs forward, one
 * read buffer per run. Memory: SPILL_ARENA plus SPILL_RBUF per run, whatever
 * the number of records. The file is unlinked as soon as it is made, so
 * nothing is left behind, even after a crash.
 *
 * Keys order as ids do: decimal numbers (without leading zeros) by value,
 * below any other text, which orders by strcmp (spill_key_cmp).
 */
#ifndef ATSRECON_SPILL_H
#define ATSRECON_SPILL_H

#include <stddef.h>

#define SPILL_KEY_MAX 64	/* longer keys are not kept (the caller reads those by id) */
#define SPILL_REC_MAX 65536	/* a longer payload is kept as a mark (SPILL_LONG) */

struct spill;

/* A spill file in dir (NULL: $TMPDIR, else /tmp); NULL (warned) when none
 * can be made. what names it in logs. */
struct spill *spill_new(const char *dir, const char *what);
void spill_free(struct spill *);
/* Keeps one record. A key longer than SPILL_KEY_MAX is dropped (0 returned);
 * a payload longer than SPILL_REC_MAX is kept as a mark. */
int spill_add(struct spill *, const char *key, const void *payload, size_t len);
/* The last arena to disk and the readers set: 0, or -1 when the file failed. */
int spill_finish(struct spill *);
/* Forgets every record (a listing that starts again). */
void spill_reset(struct spill *);
/* Back to the first key (after spill_finish). */
void spill_rewind(struct spill *);
/* Whether an I/O error made the file unusable (warned once). */
int spill_failed(const struct spill *);
long spill_records(const struct spill *);
size_t spill_runs(const struct spill *);

/* Called with each payload of a key (borrowed for the call). */
typedef void (*spill_rec_fn)(void *arg, const char *payload, size_t len);
#define SPILL_SEEN 1		/* the key had a record */
#define SPILL_LONG 2		/* one of them was too long to keep */
/* The records of key, skipping every record of a greater key not asked for
 * (keys must be asked for in descending order): SPILL_* bits. */
int spill_take(struct spill *, const char *key, spill_rec_fn, void *arg);
/* The greatest key not yet taken into key (size SPILL_KEY_MAX + 1): 1, or 0
 * at the end. */
int spill_next_key(struct spill *, char *key);
int spill_key_cmp(const char *a, const char *b);

#endif
