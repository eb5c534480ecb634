#!/usr/bin/env python3
"""GET a path from a live uWSGI socket over the uwsgi protocol: a health check without nginx.

usage: uwsgi_probe.py ADDRESS PATH [TIMEOUT] [--stats=SOCKET --replaced=PID,PID...] [--release=ID]
       uwsgi_probe.py --workers SOCKET
       uwsgi_probe.py --stats-json SOCKET
  ADDRESS is HOST:PORT or the path of a unix socket.

Prints the HTTP status code and the body, and exits 0 on any 2xx, 1 otherwise.
With --release, a JSON body that has a "release" key must name ID: the app
need not report its release, but when it does, it must be the right one.
With --stats and --replaced (the worker pids before a chain reload), it also
waits for every worker to be a new one that accepts requests: until then some
workers still serve the old release. --workers prints the current worker pids.
--stats-json prints the stats server's whole document as JSON (exit 1 and null
when it does not answer): the status role's module reads uWSGI stats this way,
so this file is the one reader of uWSGI stats.
With --stats, the socket the running master reports it is bound to wins over
ADDRESS: a reload keeps the master's sockets, so while a changed socket
setting waits for its restart the live service is still on the old one.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from typing import Any

# Printed when the running master listens elsewhere than ADDRESS: the uwsgi
# role then restarts the service onto the configured socket.
MOVED = "socket moved, restart needed"


def packet(path: str) -> bytes:
    """A uwsgi protocol request (modifier 0: a WSGI request with its variables)."""
    path_info, _, query = path.partition("?")
    variables = {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": path,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_X_FLASK_APP_PROBE": "1",
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "",
    }
    body = b"".join(
        struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
        for key, value in ((k.encode(), v.encode()) for k, v in variables.items())
    )
    return struct.pack("<BHB", 0, len(body), 0) + body


def request(address: str, path: str, timeout: float = 5.0) -> tuple[int, str]:
    if address.startswith("/"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = address
    else:
        host, _, port = address.rpartition(":")
        conn = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    with conn:
        conn.settimeout(timeout)
        conn.connect(target)
        conn.sendall(packet(path))
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    return int(status_line.split()[1]), body.decode(errors="replace")


def reported_release(body: str) -> str | None:
    """The "release" a JSON body reports, or None (not JSON, or no such key)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return str(document["release"]) if isinstance(document, dict) and "release" in document else None


def stats(stats_socket: str) -> dict[str, Any] | None:
    """The uWSGI stats server's JSON document (sent on connect); None when it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(stats_socket)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        document = json.loads(b"".join(chunks))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def workers(stats_socket: str) -> list[dict[str, int]] | None:
    """Workers from the uWSGI stats server; None when it does not answer."""
    document = stats(stats_socket)
    return document.get("workers") if document else None


def bound_address(stats_socket: str) -> str | None:
    """The first uwsgi socket the running master is bound to, as ADDRESS; None if unknown."""
    document = stats(stats_socket) or {}
    names = [s.get("name", "") for s in document.get("sockets", []) if s.get("proto", "uwsgi") == "uwsgi"]
    if not names or not names[0]:
        return None
    host, sep, port = names[0].rpartition(":")
    if names[0].startswith("/") or not sep:
        return names[0]
    # ":8080" and "0.0.0.0:8080" listen on every address: loopback is one of them.
    return f"127.0.0.1:{port}" if host in ("", "0.0.0.0") else names[0]


def old_workers_left(stats_socket: str, replaced: set[int]) -> list[int]:
    """Pids of workers that are not yet replaced, or not yet accepting requests."""
    current = workers(stats_socket)
    if current is None:  # no stats server (a unit from before it existed): nothing to wait for
        return []
    return [w["pid"] for w in current if w["pid"] in replaced or not w.get("accepting", 1)]


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--workers":
        print(",".join(str(w["pid"]) for w in workers(argv[2]) or []))
        return 0
    if len(argv) == 3 and argv[1] == "--stats-json":
        document = stats(argv[2])
        print(json.dumps(document))
        return 0 if document is not None else 1
    options = dict(arg[2:].split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)
    argv = [arg for arg in argv if not arg.startswith("--")]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    address = argv[1]
    if options.get("stats"):
        bound = bound_address(options["stats"])
        if bound and bound != address:
            print(f"{MOVED}: {bound} is live, {address} is configured")
            address = bound
        replaced = {int(pid) for pid in options.get("replaced", "").split(",") if pid}
        waiting = old_workers_left(options["stats"], replaced)
        if waiting:
            print(f"000 workers {waiting} not replaced or not accepting yet")
            return 1
    try:
        code, body = request(address, argv[2], float(argv[3]) if len(argv) > 3 else 5.0)
    except (OSError, ValueError, IndexError) as error:
        print(f"000 {address}: {error}")
        return 1
    print(code, body.strip())
    if not 200 <= code < 300:
        return 1
    reported = reported_release(body)
    if options.get("release") and reported is not None and reported != options["release"]:
        print(f"reports release {reported}, expected {options['release']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
