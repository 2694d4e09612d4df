/*
 * json.h — the cJSON wrapper: bounded parsing with useful errors, safe getters,
 * and a JSON-with-comments parser that remembers the line of every value (for
 * `file:line: message` configuration errors).
 *
 * Ownership: every cJSON * returned by a *_parse function belongs to the caller
 * (cJSON_Delete). Getters return borrowed pointers valid while the tree lives.
 */
#ifndef ATSRECON_JSON_H
#define ATSRECON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util.h"

/* Nesting deeper than this is refused (hostile bodies). */
#define JSON_MAX_DEPTH 64

/* Routes cJSON's allocations through xmalloc (abort on OOM, util.h). */
void json_init(void);

/* Parses exactly len bytes of strict JSON. On error returns NULL and writes a
 * message with the byte offset (and an escaped excerpt) into err. */
cJSON *json_parse(const char *text, size_t len, struct buf *err);

/* Line table filled by jsonc_parse: the 1-based line where each value starts. */
struct json_lines {
	struct json_line {
		const cJSON *node;
		int line;
	} *v;
	size_t n, cap;
};
void json_lines_free(struct json_lines *);
int json_line_of(const struct json_lines *, const cJSON *);	/* 0 if unknown */

/*
 * JSON with comments (// and block comments) and trailing commas, as in
 * VS Code's JSONC. Rejects duplicate keys, invalid UTF-8, control characters
 * in strings and nesting deeper than JSON_MAX_DEPTH. On error returns NULL,
 * sets *err_line and writes the message (without location) into err.
 */
cJSON *jsonc_parse(const char *text, size_t len, struct json_lines *lines, int *err_line,
    struct buf *err);

/* The integer member key of a JSON object stored as text (a record read back
 * from the state, which may be anything): 0 when rec is not such an object or
 * has no such integer. rec is only read. */
int64_t json_record_int(const struct buf *rec, const char *key);
/* Its string member key into out (replaced): 0, or -1 when there is none. */
int json_record_str(const struct buf *rec, const char *key, struct buf *out);

/* A flat object of strings ({"email:EMAIL1":"a@x.com",...}) to and from
 * string pairs, in order; members that are not strings are left out, and a
 * record that is not such an object reads as no pairs. */
void json_strpairs_parse(const struct buf *rec, struct strpairs *out);
void json_strpairs_print(const struct strpairs *, struct buf *out);

const cJSON *json_get(const cJSON *obj, const char *key);	/* case-sensitive */
const char *json_str(const cJSON *obj, const char *key);	/* NULL unless a string */
int json_int(const cJSON *obj, const char *key, int64_t *out);	/* 0 if an integral number */
int json_bool(const cJSON *obj, const char *key, int *out);	/* 0 if true/false */
/* 1 if the number is integral and within ±2^53. */
int json_is_integer(const cJSON *, int64_t *out);

/* An id as text: a string's value, or an integer formatted into buf (ids
 * arrive as either, v1 vs v2); NULL for anything else. */
const char *json_idstr(const cJSON *v, char *buf, size_t size);

/* Compact text of a tree (caller frees). */
char *json_print(const cJSON *);

#endif
