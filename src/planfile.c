/*
 * planfile.c — the plan file (plan.h: plan_write, plan_read): one op a line,
 * a JSON object with the op's id, kind, candidate, contact, tag,
 * precondition, archive flag, body (embedded as written) and reasons, and a
 * seal over all of them; `atsrecon apply` refuses any line edited since.
 * The file format's side of the plan: it builds and reads JSON objects
 * (jdoc.h); plan.c, the plan in memory, does not.
 */
#define _POSIX_C_SOURCE 200809L
#include "plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "jdoc.h"
#include "log.h"

#define PLAN_MAX_BYTES (256u * 1024 * 1024)

/*
 * The seal of an op in the plan file: a hash of every field apply uses (the
 * id, kind, candidate, contact, tag, precondition, archive flag, body and
 * reasons), each length-prefixed. The id alone covers what the op does to
 * the contact; the seal also covers what decides whether and how it is
 * applied, so dropping "archive" (past max_archives) or zeroing the
 * precondition (past the edit check) is refused like any other edit.
 */
static void
op_seal(const struct plan *p, const struct op *o, char seal[17])
{
	struct buf b = BUF_INIT;
	const char *body = o->body;
	const char *f[6];
	size_t i;

	f[0] = o->id;
	f[1] = op_kind_str(o->kind);
	f[2] = o->ats_id ? o->ats_id : "";
	f[3] = o->contact_id ? o->contact_id : "";
	f[4] = o->tag ? o->tag : "";
	f[5] = body ? body : "";
	buf_adds(&b, "atsrecon-plan-op-1");
	for (i = 0; i < ARRAY_LEN(f); i++)
		buf_addf(&b, "\n%zu:%s", strlen(f[i]), f[i]);
	buf_addf(&b, "\n%016" PRIx64 "\n%d\n%zu", o->precondition, o->archive ? 1 : 0, o->nreasons);
	for (i = 0; i < o->nreasons; i++)
		buf_addf(&b, "\n%zu:%s", strlen(op_reason(p, o, i)), op_reason(p, o, i));
	snprintf(seal, 17, "%016" PRIx64, codec_fnv1a(b.p, b.len));
	buf_free(&b);
}

enum rc
plan_write(const struct plan *p, const char *path)
{
	struct buf out = BUF_INIT;
	size_t i, r;
	enum rc rc = RC_OK;

	for (i = 0; i < p->n; i++) {
		struct op view;
		const struct op *o = plan_get(p, i, &view);
		struct jwriter *j = jw_object();
		char pre[17], seal[17];
		char *line;

		jw_str(j, "id", o->id);
		jw_str(j, "kind", op_kind_str(o->kind));
		if (o->ats_id)
			jw_str(j, "ats_id", o->ats_id);
		if (o->contact_id)
			jw_str(j, "contact", o->contact_id);
		if (o->tag)
			jw_str(j, "tag", o->tag);
		snprintf(pre, sizeof(pre), "%016" PRIx64, o->precondition);
		jw_str(j, "precondition", pre);
		if (o->archive)
			jw_true(j, "archive");
		if (o->body)
			jw_raw(j, "body", o->body);	/* compact JSON (keap.c) */
		jw_array(j, "reasons");
		for (r = 0; r < o->nreasons; r++)
			jw_push(j, "reasons", op_reason(p, o, r));
		op_seal(p, o, seal);
		jw_str(j, "seal", seal);
		line = jw_finish(j);
		buf_adds(&out, line);
		buf_addc(&out, '\n');
		free(line);
	}
	if (atomic_write(path, out.p ? out.p : "", out.len, 0600) != 0) {
		log_error("plan", "cannot write %s: %s", path, strerror(errno));
		rc = RC_STATE;
	}
	buf_free(&out);
	return rc;
}

enum rc
plan_read(struct plan *p, const char *path, struct buf *err)
{
	struct buf text = BUF_INIT, perr = BUF_INIT;
	char *line, *next;
	int lineno = 0;
	enum rc rc = RC_CONFIG;

	memset(p, 0, sizeof(*p));	/* (its own text store) */
	if (read_file(path, PLAN_MAX_BYTES, &text) != 0) {
		buf_addf(err, "%s: %s", path, strerror(errno));
		return RC_CONFIG;
	}
	if (text.len > 0 && (strlen(text.p) != text.len || text.p[text.len - 1] != '\n')) {
		size_t at = strlen(text.p), i;
		for (i = 0; i < at; i++)
			lineno += text.p[i] == '\n';
		if (at != text.len)
			buf_addf(err, "%s:%d: a NUL byte (offset %zu): not a plan file atsrecon wrote; "
			    "re-plan", path, lineno + 1, at);
		else
			buf_addf(err, "%s:%d: the last line has no newline: the file was cut short or "
			    "has something after the last op; re-plan", path, lineno + 1);
		buf_free(&text);
		return RC_CONFIG;
	}
	for (line = text.p; line != NULL && *line != '\0'; line = next) {
		struct jnode *j;
		const char *kind, *id, *pre;
		enum op_kind k;
		struct op view;
		const struct op *o;
		size_t at;
		const struct jnode *r, *body;
		uint64_t precondition = 0;
		char *end;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (*line == '\0')
			continue;
		buf_reset(&perr);
		j = jn_parse(line, strlen(line), &perr);
		kind = jn_str(j, "kind");
		id = jn_str(j, "id");
		pre = jn_str(j, "precondition");
		if (j == NULL) {
			buf_addf(err, "%s:%d: %s", path, lineno, perr.p);
			goto out;
		}
		if (kind == NULL || op_kind_parse(kind, &k) != 0 || id == NULL || strlen(id) != 16) {
			buf_addf(err, "%s:%d: not an op (needs a known \"kind\" and a 16-digit \"id\")", path,
			    lineno);
			jn_free(j);
			goto out;
		}
		if (pre != NULL) {
			errno = 0;
			precondition = strtoull(pre, &end, 16);
			if (errno != 0 || *end != '\0' || strlen(pre) != 16) {
				buf_addf(err, "%s:%d: bad precondition", path, lineno);
				jn_free(j);
				goto out;
			}
		}
		body = jn_get(j, "body");
		if ((k == OP_UPSERT_CONTACT || k == OP_PATCH_CONTACT) && !jn_is_object(body)) {
			buf_addf(err, "%s:%d: %s needs a \"body\" object", path, lineno, kind);
			jn_free(j);
			goto out;
		}
		if (k != OP_UPSERT_CONTACT && jn_str(j, "contact") == NULL) {
			buf_addf(err, "%s:%d: %s needs a \"contact\"", path, lineno, kind);
			jn_free(j);
			goto out;
		}
		if ((k == OP_APPLY_TAG || k == OP_REMOVE_TAG) && jn_str(j, "tag") == NULL) {
			buf_addf(err, "%s:%d: %s needs a \"tag\"", path, lineno, kind);
			jn_free(j);
			goto out;
		}
		at = plan_add(p, k, jn_str(j, "ats_id"), jn_str(j, "contact"), jn_str(j, "tag"),
		    body ? jn_print(body) : NULL, precondition);
		plan_set_archive(p, at, jn_is_true(jn_get(j, "archive")));
		JN_EACH(r, jn_get(j, "reasons"))
			if (jn_is_string(r))
				op_add_reason(p, at, jn_string(r), NULL);
		o = plan_get(p, at, &view);
		if (strcmp(o->id, id) != 0) {
			buf_addf(err, "%s:%d: op %s was edited (its content gives id %s); re-plan instead",
			    path, lineno, id, o->id);
			jn_free(j);
			goto out;
		}
		{
			const char *seal = jn_str(j, "seal");
			char want[17];
			op_seal(p, o, want);
			if (seal == NULL || strcmp(seal, want) != 0) {
				buf_addf(err, "%s:%d: op %s was edited (%s); re-plan instead", path, lineno,
				    id, seal == NULL ? "it has no \"seal\"" : "its seal does not match its "
				    "archive flag, precondition, reasons or content");
				jn_free(j);
				goto out;
			}
		}
		jn_free(j);
	}
	rc = RC_OK;
out:
	if (rc != RC_OK)
		plan_free(p);
	buf_free(&text);
	buf_free(&perr);
	return rc;
}
