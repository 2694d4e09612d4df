/* Unit tests: json.c (strict JSON, JSON with comments, records read back from the state). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "jtree.h"
#include "log.h"
#include "t.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAKS_NOW() __lsan_do_recoverable_leak_check()
#else
#define LEAKS_NOW() 0
#endif

/* Issue 16 defect 12: a key that fails to parse (a bad escape, an unterminated
 * key, invalid UTF-8) must not leak what was read of it. */
static void
test_defect12_jsonc_key_leak(void)
{
	static const char *const bad[] = {
		"{\"ab\\q\": 1}",			/* bad escape inside a key */
		"{\"abc",				/* unterminated key */
		"{\"ab\xff\": 1}",			/* invalid UTF-8 in a key */
		"{\"a\": {\"b\\u12\": 2}}",		/* bad \\u escape in a nested key */
		"{\"x\": 1, \"ab\ncd\": 2}",		/* control character in a key */
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		struct json_lines lines = { 0 };
		struct buf err = BUF_INIT;
		int line = 0;
		cJSON *j = jsonc_parse(bad[i], strlen(bad[i]), &lines, &line, &err);
		CHECK(j == NULL && err.len > 0);
		cJSON_Delete(j);
		json_lines_free(&lines);
		buf_free(&err);
	}
	/* under ASan: nothing the parser allocated is left unreachable */
	CHECK(LEAKS_NOW() == 0);	/* defect12_jsonc_key_leak */
}

/* Issue 16 defect 6: a failed-record entry in the state that is not JSON (a
 * record from elsewhere, a flipped bit) is read as 0 attempts; the parse error
 * must not be written into the buffer being parsed (a use after free). */
static void
test_defect6_failed_record_not_json(void)
{
	struct buf rec = BUF_INIT;
	const char *text = "this failed record is not JSON at all: a byte flipped somewhere, "
	    "or another program wrote it";

	buf_adds(&rec, text);
	CHECK(json_record_int(&rec, "attempts") == 0);	/* defect6_failed_record_not_json */
	CHECK(rec.len == strlen(text) && strcmp(rec.p, text) == 0);	/* rec is only read */
	buf_reset(&rec);
	buf_adds(&rec, "{\"attempts\":3,\"last_error\":\"HTTP 500\"}");
	CHECK(json_record_int(&rec, "attempts") == 3);
	buf_reset(&rec);
	buf_adds(&rec, "{\"attempts\":");	/* truncated */
	CHECK(json_record_int(&rec, "attempts") == 0);
	buf_reset(&rec);
	CHECK(json_record_int(&rec, "attempts") == 0);	/* empty */
	buf_free(&rec);
}

/* json_object_keys (init reads an export file's first JSON line with it) */
static void
test_object_keys(void)
{
	static const char obj[] = "{\"id\":1,\"first_name\":\"A\",\"email\":null}";
	char **keys;
	size_t n;

	CHECK(json_object_keys(obj, strlen(obj), &keys, &n) == 0 && n == 3);
	CHECK(n == 3 && strcmp(keys[0], "id") == 0 && strcmp(keys[2], "email") == 0);
	strv_free(keys, n);
	CHECK(json_object_keys("[1,2]", 5, &keys, &n) == -1 && n == 0 && keys == NULL);
	CHECK(json_object_keys("{\"id\":", 6, &keys, &n) == -1 && n == 0);	/* cut short */
	CHECK(strncmp(json_lib_version(), "cJSON/", 6) == 0);
}

int
main(void)
{
	json_init();
	log_init(LOG_OFF, LOG_FMT_TEXT);
	test_defect12_jsonc_key_leak();
	test_defect6_failed_record_not_json();
	test_object_keys();
	return t_done("test_json");
}
