/*
 * ssm.h — secrets from the AWS Parameters and Secrets Lambda Extension.
 *
 * ATSRECON_<SECTION>_<KEY>_SSM=<parameter name> (for a secret option) makes the
 * value come from the extension that Lambda runs beside the function:
 *   GET http://localhost:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, default 2773>
 *       /systemsmanager/parameters/get?name=<name>&withDecryption=true
 *   X-Aws-Parameters-Secrets-Token: <AWS_SESSION_TOKEN>
 * answered with {"Parameter": {"Name", "Type", "Value", ...}}. The value is a
 * secret from then on (redacted in logs and `check`); a failure is a
 * configuration error naming the parameter, never its value.
 */
#ifndef ATSRECON_SSM_H
#define ATSRECON_SSM_H

#include "config.h"
#include "util.h"

/* Fetches every secret named by an _SSM variable; RC_OK when there are none. */
enum rc ssm_resolve(struct config *);

#endif
