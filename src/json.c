/* json.c — see json.h, jtree.h and jdoc.h. */
#include "jtree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "log.h"

static void *
json_alloc(size_t n)
{
	return xmalloc(n);
}

void
json_init(void)
{
	cJSON_Hooks hooks = { json_alloc, free };

	cJSON_InitHooks(&hooks);
}

cJSON *
json_parse(const char *text, size_t len, struct buf *err)
{
	const char *end = NULL;
	cJSON *root;
	size_t i, depth = 0, maxdepth = 0;
	int in_str = 0;

	/* cJSON recurses without a limit of its own (CJSON_NESTING_LIMIT is 1000):
	 * measure the nesting first, without allocating. */
	for (i = 0; i < len; i++) {
		char c = text[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > maxdepth)
				maxdepth = depth;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	if (maxdepth > JSON_MAX_DEPTH) {
		buf_addf(err, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL || (end != NULL && (size_t)(end - text) < len)) {
		size_t off = end != NULL ? (size_t)(end - text) : 0;
		size_t n = len - off < 40 ? len - off : 40;

		if (root != NULL) {
			/* trailing bytes after a complete value: only whitespace is fine */
			const char *p = end;
			while (p < text + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
				p++;
			if (p == text + len)
				return root;
			cJSON_Delete(root);
		}
		if (len == 0)
			buf_adds(err, "empty body where JSON was expected");
		else if (off >= len)
			buf_addf(err, "JSON ends early (truncated after %zu bytes)", len);
		else {
			buf_addf(err, "invalid JSON at byte %zu near \"", off);
			text_escape(err, text + off, n);
			buf_addc(err, '"');
		}
		return NULL;
	}
	return root;
}

void
json_lines_free(struct json_lines *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

int
json_line_of(const struct json_lines *l, const cJSON *node)
{
	size_t i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (l->v[i].node == node)
			return l->v[i].line;
	return 0;
}

static void
lines_add(struct json_lines *l, const cJSON *node, int line)
{
	if (l == NULL)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].node = node;
	l->v[l->n].line = line;
	l->n++;
}

/* --- JSONC: a small recursive-descent parser that builds cJSON nodes. --- */

struct jp {
	const char *p, *end;
	int line;
	int depth;
	struct json_lines *lines;
	struct buf *err;
	int err_line;
	int failed;
};

static void
jp_fail(struct jp *j, const char *msg)
{
	if (j->failed)
		return;
	j->failed = 1;
	j->err_line = j->line;
	buf_adds(j->err, msg);
}

static void
jp_skip(struct jp *j)
{
	while (j->p < j->end) {
		char c = *j->p;
		if (c == '\n') {
			j->line++;
			j->p++;
		} else if (c == ' ' || c == '\t' || c == '\r')
			j->p++;
		else if (c == '/' && j->p + 1 < j->end && j->p[1] == '/') {
			while (j->p < j->end && *j->p != '\n')
				j->p++;
		} else if (c == '/' && j->p + 1 < j->end && j->p[1] == '*') {
			int start = j->line;
			j->p += 2;
			while (j->p + 1 < j->end && !(j->p[0] == '*' && j->p[1] == '/')) {
				if (*j->p == '\n')
					j->line++;
				j->p++;
			}
			if (j->p + 1 >= j->end) {
				j->line = start;
				jp_fail(j, "unterminated /* comment");
				return;
			}
			j->p += 2;
		} else
			break;
	}
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	char s[4];

	if (cp < 0x80) {
		s[0] = (char)cp;
		buf_add(b, s, 1);
	} else if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, s, 2);
	} else if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | (cp >> 18));
		s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, s, 4);
	}
}

/* Reads a string literal (j->p at the opening quote) into out. */
static int
jp_string(struct jp *j, struct buf *out)
{
	j->p++;
	buf_add(out, "", 0);
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20) {
			jp_fail(j, c == '\n' ? "unterminated string" : "control character in string");
			return -1;
		}
		if (c == '\\') {
			unsigned cp, lo;

			if (j->p + 1 >= j->end)
				break;
			switch (j->p[1]) {
			case '"': buf_addc(out, '"'); break;
			case '\\': buf_addc(out, '\\'); break;
			case '/': buf_addc(out, '/'); break;
			case 'b': buf_addc(out, '\b'); break;
			case 'f': buf_addc(out, '\f'); break;
			case 'n': buf_addc(out, '\n'); break;
			case 'r': buf_addc(out, '\r'); break;
			case 't': buf_addc(out, '\t'); break;
			case 'u':
				if (j->end - j->p < 6 || hex4(j->p + 2, &cp) != 0) {
					jp_fail(j, "bad \\u escape");
					return -1;
				}
				j->p += 4;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 8 || j->p[2] != '\\' || j->p[3] != 'u' ||
					    hex4(j->p + 4, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
						jp_fail(j, "unpaired surrogate in \\u escape");
						return -1;
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p += 6;
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					jp_fail(j, "unpaired surrogate in \\u escape");
					return -1;
				}
				if (cp == 0) {
					jp_fail(j, "\\u0000 is not allowed in strings");
					return -1;
				}
				put_utf8(out, cp);
				break;
			default:
				jp_fail(j, "bad escape in string");
				return -1;
			}
			j->p += 2;
			continue;
		}
		buf_addc(out, (char)c);
		j->p++;
	}
	if (j->p >= j->end) {
		jp_fail(j, "unterminated string");
		return -1;
	}
	j->p++;
	if (!utf8_valid(out->p, out->len)) {
		jp_fail(j, "string is not valid UTF-8");
		return -1;
	}
	return 0;
}

static cJSON *jp_value(struct jp *j);

static cJSON *
jp_number(struct jp *j)
{
	const char *s = j->p;
	char tmp[64];
	size_t n;
	char *endp;
	double v;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p < j->end && *j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else {
		jp_fail(j, "invalid number");
		return NULL;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9') {
			jp_fail(j, "invalid number");
			return NULL;
		}
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9') {
			jp_fail(j, "invalid number");
			return NULL;
		}
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	n = (size_t)(j->p - s);
	if (n >= sizeof(tmp)) {
		jp_fail(j, "number too long");
		return NULL;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	v = strtod(tmp, &endp);
	if (!isfinite(v)) {
		jp_fail(j, "number out of range");
		return NULL;
	}
	return cJSON_CreateNumber(v);
}

static int
jp_word(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w, n) == 0) {
		j->p += n;
		return 1;
	}
	return 0;
}

static cJSON *
jp_container(struct jp *j, int is_obj)
{
	cJSON *node = is_obj ? cJSON_CreateObject() : cJSON_CreateArray();
	char close = is_obj ? '}' : ']';

	if (++j->depth > JSON_MAX_DEPTH) {
		jp_fail(j, "nested too deeply");
		goto fail;
	}
	j->p++;
	for (;;) {
		struct buf key = BUF_INIT;
		int line;
		cJSON *child;

		jp_skip(j);
		if (j->failed)
			goto fail;
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		line = j->line;
		if (is_obj) {
			if (j->p >= j->end || *j->p != '"') {
				jp_fail(j, j->p >= j->end ? "unexpected end of file" : "expected a \"key\"");
				goto fail;
			}
			if (jp_string(j, &key) != 0) {
				buf_free(&key);	/* what was read of the key before the error */
				goto fail;
			}
			if (cJSON_GetObjectItemCaseSensitive(node, key.p) != NULL) {
				struct buf m = BUF_INIT;
				j->line = line;
				buf_adds(&m, "duplicate key \"");
				text_escape(&m, key.p, key.len);
				buf_adds(&m, "\"");
				jp_fail(j, m.p);
				buf_free(&m);
				buf_free(&key);
				goto fail;
			}
			jp_skip(j);
			if (j->p >= j->end || *j->p != ':') {
				buf_free(&key);
				jp_fail(j, "expected ':' after key");
				goto fail;
			}
			j->p++;
			jp_skip(j);
		}
		child = jp_value(j);
		if (child == NULL) {
			buf_free(&key);
			goto fail;
		}
		lines_add(j->lines, child, line);
		if (is_obj)
			cJSON_AddItemToObject(node, key.p, child);
		else
			cJSON_AddItemToArray(node, child);
		buf_free(&key);
		jp_skip(j);
		if (j->failed)
			goto fail;
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;	/* a trailing comma is allowed, as in JSONC */
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		jp_fail(j, j->p >= j->end ? "unexpected end of file" :
		    is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto fail;
	}
	j->depth--;
	return node;
fail:
	cJSON_Delete(node);
	return NULL;
}

static cJSON *
jp_value(struct jp *j)
{
	jp_skip(j);
	if (j->failed)
		return NULL;
	if (j->p >= j->end) {
		jp_fail(j, "unexpected end of file");
		return NULL;
	}
	switch (*j->p) {
	case '{':
		return jp_container(j, 1);
	case '[':
		return jp_container(j, 0);
	case '"': {
		struct buf s = BUF_INIT;
		cJSON *node = NULL;
		if (jp_string(j, &s) == 0)
			node = cJSON_CreateString(s.p);
		buf_free(&s);
		return node;
	}
	default:
		break;
	}
	if (jp_word(j, "true"))
		return cJSON_CreateTrue();
	if (jp_word(j, "false"))
		return cJSON_CreateFalse();
	if (jp_word(j, "null"))
		return cJSON_CreateNull();
	if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
		return jp_number(j);
	jp_fail(j, "unexpected character (expected a value)");
	return NULL;
}

cJSON *
jsonc_parse(const char *text, size_t len, struct json_lines *lines, int *err_line, struct buf *err)
{
	struct jp j;
	cJSON *root;

	memset(&j, 0, sizeof(j));
	j.p = text;
	j.end = text + len;
	j.line = 1;
	j.lines = lines;
	j.err = err;
	/* A UTF-8 byte order mark is tolerated. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		j.p += 3;
	root = jp_value(&j);
	if (root != NULL) {
		lines_add(lines, root, 1);
		jp_skip(&j);
		if (!j.failed && j.p < j.end)
			jp_fail(&j, "unexpected text after the end of the document");
		if (j.failed) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (root == NULL) {
		*err_line = j.err_line;
		if (lines != NULL)
			json_lines_free(lines);
	}
	return root;
}

int64_t
json_record_int(const struct buf *rec, const char *key)
{
	struct buf err = BUF_INIT;	/* never rec itself: the error quotes the input */
	cJSON *j = json_parse(rec->p ? rec->p : "", rec->len, &err);
	int64_t n = 0;

	if (json_int(j, key, &n) != 0)
		n = 0;
	cJSON_Delete(j);
	buf_free(&err);
	return n;
}

int
json_record_str(const struct buf *rec, const char *key, struct buf *out)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(rec->p ? rec->p : "", rec->len, &err);
	const char *v = json_str(j, key);

	if (v != NULL) {
		buf_reset(out);
		buf_adds(out, v);
	}
	cJSON_Delete(j);
	buf_free(&err);
	return v != NULL ? 0 : -1;
}

void
json_strpairs_parse(const struct buf *rec, struct strpairs *out)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(rec->p ? rec->p : "", rec->len, &err);
	const cJSON *it;

	memset(out, 0, sizeof(*out));
	if (cJSON_IsObject(j))
		cJSON_ArrayForEach(it, j)
			if (cJSON_IsString(it))
				strpairs_add(out, it->string, it->valuestring);
	cJSON_Delete(j);
	buf_free(&err);
}

void
json_strpairs_print(const struct strpairs *p, struct buf *out)
{
	size_t i;

	buf_addc(out, '{');
	for (i = 0; p != NULL && i < p->n; i++) {
		if (i > 0)
			buf_addc(out, ',');
		json_escape(out, p->k[i], strlen(p->k[i]));
		buf_addc(out, ':');
		json_escape(out, p->v[i], strlen(p->v[i]));
	}
	buf_addc(out, '}');
}

const cJSON *
json_get(const cJSON *obj, const char *key)
{
	if (obj == NULL || !cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
json_is_integer(const cJSON *v, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (d != floor(d) || d > 9007199254740992.0 || d < -9007199254740992.0)
		return 0;
	if (out != NULL)
		*out = (int64_t)d;
	return 1;
}

int
json_int(const cJSON *obj, const char *key, int64_t *out)
{
	return json_is_integer(json_get(obj, key), out) ? 0 : -1;
}

int
json_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = json_get(obj, key);

	if (!cJSON_IsBool(v))
		return -1;
	*out = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

char *
json_print(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	char *copy;

	if (s == NULL)
		return xstrdup("null");
	copy = xstrdup(s);
	cJSON_free(s);
	return copy;
}

const char *
json_idstr(const cJSON *v, char *buf, size_t size)
{
	int64_t n;

	if (cJSON_IsString(v))
		return v->valuestring;
	if (json_is_integer(v, &n)) {
		snprintf(buf, size, "%lld", (long long)n);
		return buf;
	}
	return NULL;
}

int
json_object_keys(const char *text, size_t len, char ***keys, size_t *n)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(text, len, &err);
	const cJSON *it;
	int rc = -1;

	*keys = NULL;
	*n = 0;
	if (cJSON_IsObject(j)) {
		cJSON_ArrayForEach(it, j) {
			*keys = xrealloc(*keys, (*n + 1) * sizeof(**keys));
			(*keys)[(*n)++] = xstrdup(it->string);
		}
		rc = 0;
	}
	cJSON_Delete(j);
	buf_free(&err);
	return rc;
}

const char *
json_lib_version(void)
{
	static char v[48];

	if (v[0] == '\0')
		snprintf(v, sizeof(v), "cJSON/%s", cJSON_Version());
	return v;
}

/* ------------------------------------------------- jdoc.h: opaque nodes */

/* A node is the parser's own node, seen through an opaque type. */
static const cJSON *
tree(const struct jnode *n)
{
	return (const cJSON *)(const void *)n;
}

static const struct jnode *
node(const cJSON *j)
{
	return (const struct jnode *)(const void *)j;
}

struct jnode *
jn_parse(const char *text, size_t len, struct buf *err)
{
	return (struct jnode *)(void *)json_parse(text, len, err);
}

struct jnode *
jn_parse_jsonc(const char *text, size_t len, struct json_lines *lines, int *err_line,
    struct buf *err)
{
	return (struct jnode *)(void *)jsonc_parse(text, len, lines, err_line, err);
}

void
jn_free(struct jnode *n)
{
	if (n != NULL)
		cJSON_Delete((cJSON *)(void *)n);
}

int
jn_line(const struct json_lines *l, const struct jnode *n)
{
	return json_line_of(l, tree(n));
}

int
jn_is_object(const struct jnode *n)
{
	return cJSON_IsObject(tree(n));
}

int
jn_is_array(const struct jnode *n)
{
	return cJSON_IsArray(tree(n));
}

int
jn_is_string(const struct jnode *n)
{
	return cJSON_IsString(tree(n));
}

int
jn_is_number(const struct jnode *n)
{
	return cJSON_IsNumber(tree(n));
}

int
jn_is_bool(const struct jnode *n)
{
	return cJSON_IsBool(tree(n));
}

int
jn_is_true(const struct jnode *n)
{
	return cJSON_IsTrue(tree(n));
}

int
jn_is_null(const struct jnode *n)
{
	return cJSON_IsNull(tree(n));
}

int
jn_integer(const struct jnode *n, int64_t *out)
{
	return json_is_integer(tree(n), out);
}


const char *
jn_key(const struct jnode *n)
{
	return n != NULL ? tree(n)->string : NULL;
}

const char *
jn_string(const struct jnode *n)
{
	return cJSON_IsString(tree(n)) ? tree(n)->valuestring : NULL;
}

const struct jnode *
jn_child(const struct jnode *n)
{
	return cJSON_IsArray(tree(n)) || cJSON_IsObject(tree(n)) ? node(tree(n)->child) : NULL;
}

const struct jnode *
jn_next(const struct jnode *n)
{
	return n != NULL ? node(tree(n)->next) : NULL;
}

size_t
jn_count(const struct jnode *n)
{
	const struct jnode *el;
	size_t k = 0;

	JN_EACH(el, n)
		k++;
	return k;
}

const struct jnode *
jn_get(const struct jnode *obj, const char *key)
{
	return node(json_get(tree(obj), key));
}

const char *
jn_str(const struct jnode *obj, const char *key)
{
	return json_str(tree(obj), key);
}

int
jn_int(const struct jnode *obj, const char *key, int64_t *out)
{
	return json_int(tree(obj), key, out);
}

char *
jn_print(const struct jnode *n)
{
	return json_print(tree(n));
}

/* ----------------------------------------------- jdoc.h: built objects */

struct jwriter { cJSON *obj; };

struct jwriter *
jw_object(void)
{
	struct jwriter *w = xmalloc(sizeof(*w));

	w->obj = cJSON_CreateObject();
	return w;
}

void
jw_str(struct jwriter *w, const char *key, const char *value)
{
	cJSON_AddStringToObject(w->obj, key, value);
}

void
jw_true(struct jwriter *w, const char *key)
{
	cJSON_AddTrueToObject(w->obj, key);
}

void
jw_raw(struct jwriter *w, const char *key, const char *json)
{
	cJSON_AddRawToObject(w->obj, key, json);
}

void
jw_array(struct jwriter *w, const char *key)
{
	cJSON_AddArrayToObject(w->obj, key);
}

void
jw_push(struct jwriter *w, const char *key, const char *value)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(w->obj, key);

	if (a == NULL)
		a = cJSON_AddArrayToObject(w->obj, key);
	cJSON_AddItemToArray(a, cJSON_CreateString(value));
}

char *
jw_finish(struct jwriter *w)
{
	char *text = json_print(w->obj);

	cJSON_Delete(w->obj);
	free(w);
	return text;
}
