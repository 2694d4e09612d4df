"""Command-line access to a fake's admin API, for shell tests.

    python3 tests/fakes/admin.py BASE_URL CA_FILE METHOD PATH [JSON_BODY] [--get EXPR]

prints the JSON answer (or, with --get, one value of it: a dotted path such as
"refresh_token" or "stats.writes"); exits 1 on an HTTP status other than 200.
"""

import json
import ssl
import sys
import urllib.error
import urllib.request


def main(argv):
    args = list(argv[1:])
    get = None
    if "--get" in args:
        i = args.index("--get")
        get = args[i + 1]
        del args[i:i + 2]
    if len(args) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    base, ca, method, path = args[:4]
    body = args[4].encode() if len(args) == 5 else None
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
            out = json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        print("admin %s %s: HTTP %d %s" % (method, path, e.code, e.read()[:300]), file=sys.stderr)
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
