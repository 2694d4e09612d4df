/*
 * jtree.h — the cJSON wrapper: bounded parsing with useful errors, safe getters,
 * and a JSON-with-comments parser that remembers the line of every value (for
 * `file:line: message` configuration errors). For the files that read or
 * build JSON trees of the wire: the vendor and wire files (keap, kcontact,
 * ats_*, http, s3, ssm, lambda) and the report writers. The configuration,
 * plan file and token store readers see the same trees through jdoc.h's
 * opaque nodes; the engine sees none (json.h).
 *
 * Ownership: every cJSON * returned by a *_parse function belongs to the caller
 * (cJSON_Delete). Getters return borrowed pointers valid while the tree lives.
 */
#ifndef ATSRECON_JTREE_H
#define ATSRECON_JTREE_H

#include <cjson/cJSON.h>

#include "json.h"

/* Parses exactly len bytes of strict JSON. On error returns NULL and writes a
 * message with the byte offset (and an escaped excerpt) into err. */
cJSON *json_parse(const char *text, size_t len, struct buf *err);

/*
 * JSON with comments (// and block comments) and trailing commas, as in
 * VS Code's JSONC. Rejects duplicate keys, invalid UTF-8, control characters
 * in strings and nesting deeper than JSON_MAX_DEPTH. On error returns NULL,
 * sets *err_line and writes the message (without location) into err.
 */
cJSON *jsonc_parse(const char *text, size_t len, struct json_lines *lines, int *err_line,
    struct buf *err);

int json_line_of(const struct json_lines *, const cJSON *);	/* 0 if unknown */

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
