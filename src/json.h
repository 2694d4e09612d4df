/*
 * json.h — JSON without the tree: cJSON set up (json_init), a few records the
 * state keeps as JSON text read and written by value (json.c), and the line
 * table of a JSON-with-comments parse. It does not expose cJSON: the vendor
 * and wire files and the report writers include jtree.h; the configuration,
 * plan file and token store readers jdoc.h (opaque nodes).
 */
#ifndef ATSRECON_JSON_H
#define ATSRECON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Nesting deeper than this is refused (hostile bodies). */
#define JSON_MAX_DEPTH 64

struct cJSON;	/* (jtree.h) */

/* Routes cJSON's allocations through xmalloc (abort on OOM, util.h). */
void json_init(void);

/* Line table filled by jsonc_parse (jtree.h): the 1-based line where each value starts. */
struct json_lines {
	struct json_line {
		const struct cJSON *node;
		int line;
	} *v;
	size_t n, cap;
};
void json_lines_free(struct json_lines *);

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

/* The member names of the JSON object in text[0..len), in order (*keys
 * allocated, strv_free): 0, or -1 when the text is not an object. */
int json_object_keys(const char *text, size_t len, char ***keys, size_t *n);

/* The JSON library and its version ("cJSON/1.7.18"), for --version. */
const char *json_lib_version(void);

#endif
