"""Fake of the AWS Parameters and Secrets Lambda Extension (plain HTTP on localhost, as the
real one listens on localhost:2773 inside the Lambda environment).

What atsrecon uses (AWS Lambda documentation, "Using Parameter Store parameters in Lambda
functions"):

  GET /systemsmanager/parameters/get?name=<name>[&withDecryption=true][&version=N]
      header X-Aws-Parameters-Secrets-Token: <the function's AWS_SESSION_TOKEN>
      -> 200 {"Parameter": {"ARN", "DataType": "text", "LastModifiedDate", "Name",
              "Selector": null, "SourceResult": null, "Type", "Value", "Version"},
              "ResultMetadata": {}}
      a missing or wrong token                  -> 401 (choice: the text of the real
                                                   error is not documented in what we read)
      an unknown parameter                      -> 400 {"__type": "ParameterNotFound"}
                                                   (the extension passes SSM's error on)
      a SecureString without withDecryption=true -> 200 with the encrypted blob as Value
                                                   (as SSM does: the client must ask)

Admin: POST /_admin/params {"name": {"value": "...", "type": "SecureString"|"String"}}
merges parameters; POST /_admin/token {"token": "..."} sets the accepted session token;
GET /_admin/requests (common.py) shows what was asked (the token header redacted).

Run: python3 tests/fakes/ssm_extension.py --no-tls --port-file /tmp/port --token T
"""

import common
from common import FakeServer, route


class SsmExtensionFake(FakeServer):
    """The Parameters and Secrets extension's Parameter Store endpoint."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.params = {}
        self.token = None

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--token", help="the session token the extension accepts")

    def configure(self, args):
        self.token = args.token

    @route("GET", r"^/systemsmanager/parameters/get$")
    def get_parameter(self, req):
        if self.token is None or req.headers.get("X-Aws-Parameters-Secrets-Token") != self.token:
            return 401, {"Content-Type": "text/plain"}, "unauthorized"
        name = req.arg("name", "")
        p = self.params.get(name)
        if p is None:
            return 400, {}, {"__type": "ParameterNotFound", "message": "parameter not found"}
        value = p["value"]
        if p.get("type") == "SecureString" and req.arg("withDecryption", "false") != "true":
            value = "AQICAHh" + "x" * 40   # an encrypted blob, as SSM gives without decryption
        return 200, {}, {"Parameter": {
            "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + (name if name.startswith("/")
                                                                     else "/" + name),
            "DataType": "text", "LastModifiedDate": "2026-11-30T12:00:00.000Z", "Name": name,
            "Selector": None, "SourceResult": None, "Type": p.get("type", "SecureString"),
            "Value": value, "Version": 1}, "ResultMetadata": {}}

    @common.admin_route("POST", "/_admin/params")
    def admin_params(self, req, body):
        for k, v in body.items():
            if not isinstance(v, dict) or not isinstance(v.get("value"), str):
                raise ValueError("each parameter is {value, type}")
            self.params[str(k)] = {"value": v["value"], "type": v.get("type", "SecureString")}
        return {"ok": True, "params": len(self.params)}

    @common.admin_route("POST", "/_admin/token")
    def admin_token(self, req, body):
        self.token = body.get("token")
        return {"ok": True}

    def dump_state(self):
        return {"params": sorted(self.params)}

    def load_state(self, obj):
        self.params = {}


if __name__ == "__main__":
    common.main(SsmExtensionFake)
