/*
 * fuzz_headers — rate-limit and retry headers: http_retry_after_ms (seconds,
 * HTTP dates, epoch timestamps) on every header value, and pace.c's reading
 * of a response's headers (Keap's x-keap-product/tenant-throttle-* and quota
 * families with "|"-lists, X-RateLimit-Remaining/Reset, 429s) for three
 * pacers, each then asked for its next wait. Link headers are read by the
 * Greenhouse driver (fuzz_greenhouse).
 *
 * Input: one or more answers in wire.h's format (status, header lines).
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "pace.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct pace *p[3];
	struct pace_info info;
	struct http_req req;
	struct http_resp resp;
	size_t i, k;
	long ms;

	if (!inited) {
		inited = 1;
		fuzz_quiet_logs();
	}
	p[0] = pace_new("keap", 25.0, 4);
	p[1] = pace_new("greenhouse", 50.0, 5);
	p[2] = pace_new("lever", 10.0, 1);
	wire_load(data, size);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = FUZZ_REPLAY_ORIGIN "/";
	while (http_do(fuzz_http(), &req, &resp) == RC_OK) {
		for (i = 0; i < resp.nheaders; i++) {
			ms = http_retry_after_ms(resp.headers[i].value, 1796643000);
			if (ms < -1)
				abort();
		}
		ms = http_retry_after_ms(http_header(&resp, "retry-after"), 1796643000);
		if (ms < -1)
			abort();
		for (k = 0; k < 3; k++) {
			pace_after(p[k], &resp);
			(void)pace_before(p[k]);
			pace_get(p[k], &info);
		}
		http_resp_free(&resp);
	}
	http_resp_free(&resp);
	for (k = 0; k < 3; k++)
		pace_free(p[k]);
	wire_reset();
	return 0;
}
