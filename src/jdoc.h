/*
 * jdoc.h — a JSON document read through opaque nodes, and JSON objects built
 * member by member: for the files that read the configuration and the plan
 * file (config.c, mapcfg.c, planfile.c) and the token store (auth.c), which
 * need a tree but not the JSON library's. json.c implements it over the parser (jtree.h); nothing here
 * names it, so the library can change in one file.
 *
 * Ownership: a parsed document belongs to the caller (jn_free); nodes are
 * borrowed from it. Every accessor takes NULL and gives NULL, 0 or "no".
 */
#ifndef ATSRECON_JDOC_H
#define ATSRECON_JDOC_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

struct jnode;

/* Strict JSON, exactly len bytes; NULL with the message (byte offset) in err. */
struct jnode *jn_parse(const char *text, size_t len, struct buf *err);
/* JSON with comments and trailing commas, each value's line in lines
 * (jtree.h: jsonc_parse). */
struct jnode *jn_parse_jsonc(const char *text, size_t len, struct json_lines *lines,
    int *err_line, struct buf *err);
void jn_free(struct jnode *);
int jn_line(const struct json_lines *, const struct jnode *);	/* 0 if unknown */

int jn_is_object(const struct jnode *);
int jn_is_array(const struct jnode *);
int jn_is_string(const struct jnode *);
int jn_is_number(const struct jnode *);
int jn_is_bool(const struct jnode *);
int jn_is_true(const struct jnode *);
int jn_is_null(const struct jnode *);
/* 1 if an integral number within ±2^53 (its value in *out unless NULL). */
int jn_integer(const struct jnode *, int64_t *out);

const char *jn_key(const struct jnode *);	/* its name in its object, or NULL */
const char *jn_string(const struct jnode *);	/* a string's value, or NULL */
const struct jnode *jn_child(const struct jnode *);	/* an array's or object's first */
const struct jnode *jn_next(const struct jnode *);	/* the one after it */
size_t jn_count(const struct jnode *);		/* elements or members */
const struct jnode *jn_get(const struct jnode *obj, const char *key);	/* case-sensitive */
const char *jn_str(const struct jnode *obj, const char *key);	/* NULL unless a string */
int jn_int(const struct jnode *obj, const char *key, int64_t *out);	/* 0 if an integer */
char *jn_print(const struct jnode *);		/* compact text (caller frees) */

#define JN_EACH(el, parent) for ((el) = jn_child(parent); (el) != NULL; (el) = jn_next(el))

/* An object built member by member, in order; jw_finish gives its compact
 * text (caller frees) and frees the writer. */
struct jwriter;
struct jwriter *jw_object(void);
void jw_str(struct jwriter *, const char *key, const char *value);
void jw_true(struct jwriter *, const char *key);
void jw_raw(struct jwriter *, const char *key, const char *json);	/* JSON text as is */
void jw_array(struct jwriter *, const char *key);	/* an empty array of strings ... */
void jw_push(struct jwriter *, const char *key, const char *value);	/* ... and one more */
char *jw_finish(struct jwriter *);

#endif
