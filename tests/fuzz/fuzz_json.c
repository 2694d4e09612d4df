/*
 * fuzz_json — json.c: the strict parser every API body goes through
 * (json_parse, bounded depth, errors with an escaped excerpt), and the
 * JSON-with-comments parser of configuration files (jsonc_parse, line table,
 * duplicate keys, UTF-8 checks). Whatever parses is printed and parsed again.
 */
#include <stdlib.h>
#include <string.h>

#include "jtree.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct buf err = BUF_INIT;
	struct json_lines lines;
	cJSON *j, *k;
	char *txt, idbuf[32];
	int line = 0;
	int64_t n;

	if (!inited) {
		inited = 1;
		fuzz_quiet_logs();
		json_init();
	}
	j = json_parse((const char *)data, size, &err);
	if (j == NULL && err.p == NULL)
		abort();	/* a refusal says why */
	if (j != NULL) {
		txt = json_print(j);
		k = json_parse(txt, strlen(txt), &err);
		if (k == NULL)
			abort();	/* what we print parses */
		cJSON_Delete(k);
		free(txt);
		(void)json_idstr(json_get(j, "id"), idbuf, sizeof(idbuf));
		(void)json_int(j, "id", &n);
		(void)json_str(j, "name");
		cJSON_Delete(j);
	}
	buf_reset(&err);
	memset(&lines, 0, sizeof(lines));
	j = jsonc_parse((const char *)data, size, &lines, &line, &err);
	if (j == NULL && err.p == NULL)
		abort();
	if (j != NULL) {
		if (json_line_of(&lines, j) < 0)
			abort();
		cJSON_Delete(j);
	}
	json_lines_free(&lines);
	buf_free(&err);
	return 0;
}
