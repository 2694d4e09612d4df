"""Scaffolding shared by the fakes' self-tests (test_common.py, test_keap_fake.py,
test_greenhouse_fake.py). Not a test itself: tests/run.sh runs only test_*.py.

  FakeProcess      a fake from this directory in a subprocess on an ephemeral port
  KeepAliveFake    the same with a keep-alive HTTPS client: request() and admin()
  check, run_check one check: prints "ok - NAME" or "not ok - NAME: WHY" and counts it
  eq, true         assertions with a message
  main             runs a whole self-test and prints "N passed, N failed"

Standard library only (plus the openssl CLI that common.ensure_test_ca uses).
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import common  # noqa: E402

RESULTS = []  # one bool per check run
STARTED = []  # every FakeProcess started, for main() to stop


# ---------------------------------------------------------------------------------------------
# Fakes as subprocesses

class FakeProcess:
    """SCRIPT (a fake in this directory) in a subprocess on an ephemeral port.

    Runs `SCRIPT --port-file DIR/port --log DIR/requests.jsonl ARGS...` with its stderr in
    DIR/stderr, and returns once the fake has written its port (self.port); raises
    RuntimeError with the fake's stderr if it exits or takes longer than start_timeout.
    """

    def __init__(self, script, dirpath, *args, name=None, start_timeout=15):
        os.makedirs(dirpath, exist_ok=True)
        self.dir = dirpath
        self.port_file = os.path.join(dirpath, "port")
        self.log = os.path.join(dirpath, "requests.jsonl")
        self.stderr = open(os.path.join(dirpath, "stderr"), "w")
        cmd = [sys.executable, os.path.join(HERE, script), "--port-file", self.port_file,
               "--log", self.log] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        STARTED.append(self)
        deadline = time.monotonic() + start_timeout
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s did not start: %s" % (name or script, self.errors()))
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def errors(self):
        """What the fake wrote to stderr so far."""
        self.stderr.flush()
        with open(self.stderr.name) as f:
            return f.read().strip()

    def wait_exit(self, timeout):
        """The exit status, or None if the fake still runs after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.stderr.close()


class KeepAliveFake(FakeProcess):
    """A FakeProcess serving HTTPS (certificate from cafile; default: the CA of
    common.DEFAULT_CERTDIR, which a fake started without --certdir uses), talked to over one
    keep-alive connection to localhost that is reopened once when it fails."""

    def __init__(self, script, dirpath, *args, cafile=None, timeout=10, **kw):
        self.conn = None
        self.timeout = timeout
        super().__init__(script, dirpath, *args, **kw)
        if cafile is None:
            cafile = common.ensure_test_ca(common.DEFAULT_CERTDIR).ca_pem
        self.ctx = ssl.create_default_context(cafile=cafile)

    def connect(self, timeout=None):
        """A new HTTPS connection to the fake (for tests that need their own)."""
        return http.client.HTTPSConnection("localhost", self.port, context=self.ctx,
                                           timeout=self.timeout if timeout is None else timeout)

    def request(self, method, path, body=None, headers=None, raw=None):
        """body is sent as JSON, raw as given; -> (status, headers {lower name: value},
        parsed JSON body, or the raw bytes if it is not JSON, or None if empty)."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self.connect()
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                out = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        try:
            parsed = json.loads(out) if out else None
        except ValueError:
            parsed = out
        return r.status, hdrs, parsed

    def admin(self, method, what, obj=None):
        """METHOD /_admin/WHAT with obj as the JSON body; -> the parsed answer.
        Raises AssertionError unless the status is 200."""
        st, _, body = self.request(method, "/_admin/" + what, obj)
        if st != 200:
            raise AssertionError("admin %s %s: %d %r" % (method, what, st, body))
        return body

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        super().stop()


# ---------------------------------------------------------------------------------------------
# Checks and their count

def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a))


def true(v, what):
    if not v:
        raise AssertionError(what)


def not_ok(name, why):
    RESULTS.append(False)
    print("not ok - %s: %s" % (name, why.replace("\n", "\n    ")), flush=True)


def run_check(name, fn, *args):
    """Runs fn(*args) as the check NAME: an exception is a failure (an AssertionError's
    message, or the traceback of anything else, says why). Prints the "ok"/"not ok" line,
    with the time taken if it was a second or more; -> True if it passed."""
    t0 = time.monotonic()
    try:
        fn(*args)
    except Exception as e:  # a failed check, or a bug in the test: both are failures
        not_ok(name, str(e) if isinstance(e, AssertionError) else
               traceback.format_exc().strip())
        return False
    RESULTS.append(True)
    took = time.monotonic() - t0
    print("ok - %s%s" % (name, " (%.1f s)" % took if took >= 1 else ""), flush=True)
    return True


def check(name):
    """Decorator: runs the function at once as the check NAME (see run_check)."""
    def run(fn):
        run_check(name, fn)
        return fn
    return run


def main(tmp_prefix, start, checks, starting):
    """Runs a self-test: start(tmp) in a new temporary directory (an exception there is one
    failed check named `starting`, and no other check runs), then checks(); then stops every
    FakeProcess, removes the directory and prints the time taken and "N passed, N failed".
    -> the exit status: 1 if any check failed, else 0."""
    tmp = tempfile.mkdtemp(prefix=tmp_prefix)
    t0 = time.monotonic()
    try:
        try:
            start(tmp)
        except Exception as e:  # nothing to check without the fakes
            not_ok(starting, "%s: %s" % (type(e).__name__, e))
        else:
            checks()
    finally:
        try:
            while STARTED:
                STARTED.pop().stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print("# %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
