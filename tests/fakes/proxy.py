"""A minimal HTTP CONNECT proxy for tests of HTTPS_PROXY / NO_PROXY handling.

Binds 127.0.0.1 only, tunnels CONNECT host:port to that address (only loopback
targets: localhost, 127.0.0.0/8), appends one line per tunnel ("CONNECT host:port")
to --log, writes its port to --port-file, and exits after --idle-timeout seconds
without a new connection. Standard library only.

Run: python3 tests/fakes/proxy.py --port-file P --log L [--idle-timeout 60]
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def pump(a, b):
    """Copies bytes both ways until either side closes."""
    socks = [a, b]
    try:
        while True:
            ready, _, _ = select.select(socks, [], [], 30)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


def handle(conn, log_path):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        chunk = conn.recv(1024)
        if not chunk:
            conn.close()
            return
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or parts[0] != "CONNECT":
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    host, _, port = parts[1].rpartition(":")
    host = host.strip("[]")
    with open(log_path, "a") as f:
        f.write("CONNECT %s\n" % parts[1])
    if host not in LOOPBACK and not host.startswith("127."):
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    try:
        up = socket.create_connection(("127.0.0.1" if host != "::1" else "::1", int(port)), 5)
    except (OSError, ValueError):
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    pump(conn, up)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--idle-timeout", type=float, default=60)
    args = p.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(1)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(tmp, args.port_file)
    last = time.monotonic()
    while time.monotonic() - last < args.idle_timeout:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        last = time.monotonic()
        threading.Thread(target=handle, args=(conn, args.log), daemon=True).start()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
