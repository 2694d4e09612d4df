/* apierr.c — see apierr.h. */
#include "apierr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void
api_err_clear(struct api_err *e)
{
	memset(e, 0, sizeof(*e));
}

static void set_v(struct api_err *e, long status, const char *fmt, va_list ap)
    PRINTF_LIKE(3, 0);

static void
set_v(struct api_err *e, long status, const char *fmt, va_list ap)
{
	e->status = status;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void
api_err_set(struct api_err *e, long status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_v(e, status, fmt, ap);
	va_end(ap);
}

void
api_err_hint(struct api_err *e, const char *hint)
{
	str_copy(e->hint, sizeof(e->hint), hint != NULL ? hint : "");
}

void
api_fail(struct api_err *e, const char *subsystem, long status, const char *hint, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log_msg(LOG_ERROR, subsystem, "%s", b.p ? b.p : "");
	if (e != NULL) {
		e->status = status;
		str_copy(e->msg, sizeof(e->msg), b.p ? b.p : "");
		api_err_hint(e, hint);
	}
	buf_free(&b);
}

void
api_err_text(const struct api_err *e, struct buf *out)
{
	size_t start = out->len;

	if (e->status != 0)
		buf_addf(out, "HTTP %ld", e->status);
	if (e->code[0] != '\0')
		buf_addf(out, "%s%s", out->len > start ? " " : "", e->code);
	if (e->msg[0] != '\0')
		buf_addf(out, "%s%s", out->len > start ? (e->code[0] ? ": " : " ") : "", e->msg);
}
