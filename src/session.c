/* session.c — see session.h. */
#include "session.h"

#include <string.h>

void
session_http_cfg(const struct config *cfg, struct http_cfg *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->ca_file = cfg_str(cfg, OPT_HTTP_CA_FILE);
	hc->connect_timeout_ms = (long)cfg_int(cfg, OPT_HTTP_CONNECT_TIMEOUT) * 1000;
	hc->timeout_ms = (long)cfg_int(cfg, OPT_HTTP_TIMEOUT) * 1000;
	hc->max_body = (size_t)cfg_int(cfg, OPT_HTTP_MAX_BODY);
}
