/* ssm.c — see ssm.h. */
#define _POSIX_C_SOURCE 200809L
#include "ssm.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jtree.h"
#include "log.h"
#include "opts.h"

#define SSM_TIMEOUT_MS 10000

enum rc
ssm_resolve(struct config *c)
{
	const char *port = getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT");
	const char *token = getenv("AWS_SESSION_TOKEN");
	struct http *h = NULL;
	struct http_cfg hc;
	enum rc rc = RC_OK;
	size_t i;

	for (i = 0; i < OPT__MAX && rc == RC_OK; i++) {
		struct http_req req;
		struct http_resp resp;
		struct buf url = BUF_INIT, hdr = BUF_INIT, err = BUF_INIT;
		const char *hdrs[2] = { NULL, NULL };
		const char *name = c->v[i].ssm_name, *value;
		cJSON *j = NULL;

		if (name == NULL)
			continue;
		if (token == NULL || *token == '\0') {
			log_error("config", "%s.%s comes from the Parameters and Secrets extension "
			    "(parameter %s), which needs AWS_SESSION_TOKEN", opt_table[i].section,
			    opt_table[i].key, name);
			return RC_CONFIG;
		}
		if (h == NULL) {
			memset(&hc, 0, sizeof(hc));
			hc.timeout_ms = SSM_TIMEOUT_MS;
			hc.connect_timeout_ms = SSM_TIMEOUT_MS;
			hc.max_body = 128 * 1024;
			hc.no_proxy = 1;	/* the extension is local */
			if ((rc = http_new(&hc, &h)) != RC_OK)
				return rc;
		}
		buf_addf(&url, "http://localhost:%s/systemsmanager/parameters/get?name=",
		    port != NULL && *port != '\0' ? port : "2773");
		http_urlencode(&url, name);
		buf_adds(&url, "&withDecryption=true");
		buf_adds(&hdr, "X-Aws-Parameters-Secrets-Token: ");
		buf_adds(&hdr, token);
		log_add_secret(token);
		hdrs[0] = hdr.p;
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = url.p;
		req.headers = hdrs;
		req.credential = 1;
		req.deadline_ms = mono_ms() + SSM_TIMEOUT_MS;
		rc = http_do(h, &req, &resp);
		if (rc == RC_OK && resp.status == 200)
			j = json_parse(resp.body.p, resp.body.len, &err);
		value = json_str(json_get(j, "Parameter"), "Value");
		if (value == NULL) {
			log_error("config", "%s.%s: the Parameters and Secrets extension did not give "
			    "parameter %s (%s%ld%s)", opt_table[i].section, opt_table[i].key, name,
			    rc != RC_OK ? "no answer: " : "HTTP ", rc != RC_OK ? 0L : resp.status,
			    rc != RC_OK ? resp.err : "");
			rc = RC_CONFIG;
		} else {
			buf_reset(&err);
			if ((rc = config_set_secret(c, (enum opt_id)i, value, &err)) != RC_OK)
				log_error("config", "%s", err.p);
			else
				log_debug("config", "%s.%s: from parameter %s", opt_table[i].section,
				    opt_table[i].key, name);
		}
		cJSON_Delete(j);
		http_resp_free(&resp);
		memset(hdr.p, 0, hdr.len);
		buf_free(&hdr);
		buf_free(&url);
		buf_free(&err);
	}
	http_free(h);
	return rc;
}
