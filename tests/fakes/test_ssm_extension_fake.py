"""Self-test of the Parameters and Secrets extension fake (ssm_extension.py; HTTPS here,
plain HTTP as atsrecon meets it in tests/integration/lambda.sh).

Run: python3 tests/fakes/test_ssm_extension_fake.py
Prints "ok - NAME" or "not ok - NAME: WHY" per check, then "N passed, N failed".
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import selftest  # noqa: E402
from selftest import check, eq  # noqa: E402

F = None
TOKEN = "IQoJsessionTOKEN=="
PATH = "/systemsmanager/parameters/get?name=%2Fatsrecon%2Fkey&withDecryption=true"


def checks():
    @check("a SecureString with the session token and withDecryption=true: its value")
    def _():
        F.admin("POST", "params", {"/atsrecon/key": {"value": "s3cr3t", "type": "SecureString"}})
        st, _, body = F.request("GET", PATH, headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
        eq(st, 200, "status")
        p = (body if isinstance(body, dict) else json.loads(body))["Parameter"]
        eq((p["Name"], p["Type"], p["Value"]), ("/atsrecon/key", "SecureString", "s3cr3t"), "parameter")

    @check("without decryption a SecureString's value is the encrypted blob")
    def _():
        st, _, body = F.request("GET", PATH.replace("&withDecryption=true", ""),
                                headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
        eq(st, 200, "status")
        eq((body if isinstance(body, dict) else json.loads(body))["Parameter"]["Value"] != "s3cr3t", True, "not the plain value")

    @check("no token or a wrong one: 401; an unknown parameter: 400 ParameterNotFound")
    def _():
        eq(F.request("GET", PATH)[0], 401, "no token")
        eq(F.request("GET", PATH, headers={"X-Aws-Parameters-Secrets-Token": "x"})[0], 401, "wrong")
        st, _, body = F.request("GET", PATH.replace("key", "nope"),
                                headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
        eq((st, (body if isinstance(body, dict) else json.loads(body))["__type"]), (400, "ParameterNotFound"), "unknown")


def start(tmp):
    global F
    F = selftest.KeepAliveFake("ssm_extension.py", os.path.join(tmp, "main"),
                               "--token", TOKEN, "--idle-timeout", "60", "--max-lifetime", "300")


if __name__ == "__main__":
    sys.exit(selftest.main("atsrecon-ssm-", start, checks, "ssm extension fake starts"))
