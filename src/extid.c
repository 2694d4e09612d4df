/* extid.c — see extid.h. */
#define _POSIX_C_SOURCE 200809L
#include "extid.h"

#include <stdlib.h>
#include <string.h>

static const char *const sources[] = { "greenhouse", "lever", "ashby", "file" };

void
extid_format(const char *fmt, const char *ats, const char *id, struct buf *out)
{
	const char *p = fmt != NULL && *fmt != '\0' ? fmt : "{id}";

	while (*p != '\0') {
		if (strncmp(p, "{id}", 4) == 0) {
			buf_adds(out, id);
			p += 4;
		} else if (strncmp(p, "{ats}", 5) == 0) {
			buf_adds(out, ats);
			p += 5;
		} else
			buf_addc(out, *p++);
	}
	if (out->p == NULL)
		buf_adds(out, "");
}

static void
add_unique(char *out[EXTID_MAX], size_t *n, char *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i], s) == 0) {
			free(s);
			return;
		}
	out[(*n)++] = s;
}

size_t
extid_spellings(const char *fmt, const char *ats, const char *id, char *out[EXTID_MAX])
{
	struct buf b = BUF_INIT;
	size_t n = 0;

	extid_format(fmt, ats, id, &b);
	add_unique(out, &n, buf_take(&b));
	add_unique(out, &n, xstrdup(id));
	add_unique(out, &n, xasprintf("%s:%s", ats, id));
	return n;
}

int
extid_names(const char *fmt, const char *ats, const char *id, const char *value)
{
	struct buf got = BUF_INIT;
	int yes;

	yes = extid_parse(fmt, ats, value, &got) && strcmp(got.p, id) == 0;
	buf_free(&got);
	return yes;
}

/* The id inside v when v has the shape of the format (one {id}, any {ats}). */
static int
parse_format(const char *fmt, const char *ats, const char *v, size_t len, struct buf *id_out)
{
	struct buf pre = BUF_INIT, post = BUF_INIT;
	const char *at = strstr(fmt, "{id}");
	int ok = 0;

	if (at == NULL || strstr(at + 4, "{id}") != NULL)
		return 0;
	{
		char *head = xstrndup(fmt, (size_t)(at - fmt));
		extid_format(head, ats, "", &pre);
		free(head);
	}
	extid_format(at + 4, ats, "", &post);
	if (len > pre.len + post.len && strncmp(v, pre.p, pre.len) == 0 &&
	    strncmp(v + len - post.len, post.p, post.len) == 0) {
		buf_add(id_out, v + pre.len, len - pre.len - post.len);
		ok = 1;
	}
	buf_free(&pre);
	buf_free(&post);
	return ok;
}

int
extid_parse(const char *fmt, const char *ats, const char *value, struct buf *id_out)
{
	const char *v;
	size_t len, i, alen = strlen(ats);

	buf_reset(id_out);
	if (value == NULL)
		return 0;
	v = str_trim(value, &len);
	if (len == 0)
		return 0;
	if (len > alen + 1 && strncmp(v, ats, alen) == 0 && v[alen] == ':') {
		buf_add(id_out, v + alen + 1, len - alen - 1);
		return 1;
	}
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		size_t sl = strlen(sources[i]);
		if (len > sl && strncmp(v, sources[i], sl) == 0 && v[sl] == ':')
			return 0;	/* another source's candidate */
	}
	if (fmt != NULL && strcmp(fmt, "{id}") != 0 && parse_format(fmt, ats, v, len, id_out))
		return 1;
	buf_add(id_out, v, len);
	return 1;
}
