"""A fake's admin API: the Admin client for Python tests, and command-line access for shell tests.

    python3 tests/fakes/admin.py [--timeout S] BASE_URL CA_FILE METHOD PATH [JSON_BODY] [--get EXPR]

prints the JSON answer (or, with --get, one value of it: a dotted path such as
"refresh_token" or "stats.writes"); exits 1 on an HTTP status other than 200. The
call may take S seconds (default 60).
"""

import json
import ssl
import sys
import urllib.error
import urllib.request


class Admin:
    """JSON calls to one fake (its admin API or its own endpoints) over TLS."""

    def __init__(self, base, ca=None, ctx=None, timeout=300):
        self.base = base
        self.ctx = ctx if ctx is not None else ssl.create_default_context(cafile=ca)
        self.timeout = timeout

    def send(self, method, path, data=None):
        """The parsed answer to a request with the body bytes data; RuntimeError on an HTTP
        error status."""
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, e.code, e.read()[:300]))

    def call(self, method, path, body=None):
        """The same with a JSON body (None: no body)."""
        return self.send(method, path, json.dumps(body).encode() if body is not None else None)


def main(argv):
    args = list(argv[1:])
    get = None
    if "--get" in args:
        i = args.index("--get")
        get = args[i + 1]
        del args[i:i + 2]
    timeout = 60
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    if len(args) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    base, ca, method, path = args[:4]
    body = args[4].encode() if len(args) == 5 else None
    try:
        out = Admin(base, ca=ca, timeout=timeout).send(method, path, body)
    except RuntimeError as e:
        print("admin %s" % e, file=sys.stderr)
        return 1
    if get is not None:
        for part in get.split("."):
            out = out[int(part)] if isinstance(out, list) else out[part]
        print(out if not isinstance(out, (dict, list)) else json.dumps(out))
    else:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
