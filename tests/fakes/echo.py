"""Echo fake: a trivial server on common.py for the C http module's tests.

  GET  /echo          {"method", "path", "query", "headers"}: the request as received; header
                      values that may carry secrets are replaced by "<redacted>"
  POST /echo          the JSON request body, sent back (400 if the body is not JSON)
  GET  /big?n=BYTES   exactly BYTES bytes of text (for body caps and gzip)
  GET  /tls           {"tls": "TLSv1.3"}: the connection's TLS version (null over plain HTTP)

Run: python3 tests/fakes/echo.py --port-file /tmp/port [--tls-max 1.2] [...]; see --help.
"""

import common
from common import FakeServer, HttpError, route

MAX_BIG = 256 * 1024 * 1024
PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyz\n"


class EchoFake(FakeServer):
    """Echo fake for the http module's tests."""

    @route("GET", r"^/echo$")
    def get_echo(self, req):
        return 200, {}, {"method": req.method, "path": req.path, "query": req.query,
                         "headers": common.redacted_headers(req.headers)}

    @route("POST", r"^/echo$")
    def post_echo(self, req):
        if req.json is None and req.body.strip() != b"null":
            raise HttpError(400, {"error": "body is not JSON", "detail": req.json_error})
        return 200, {}, req.json

    @route("GET", r"^/big$")
    def big(self, req):
        try:
            n = int(req.arg("n", "0"))
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_BIG:
            raise HttpError(400, {"error": "n must be an integer in [0, %d]" % MAX_BIG})
        body = PATTERN * (n // len(PATTERN) + 1)
        return 200, {"Content-Type": "text/plain"}, body[:n]

    @route("GET", r"^/tls$")
    def tls(self, req):
        return 200, {}, {"tls": req.tls_version}


if __name__ == "__main__":
    common.main(EchoFake)
