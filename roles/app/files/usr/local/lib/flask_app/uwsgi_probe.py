#!/usr/bin/env python3
"""GET a path from a live uWSGI socket over the uwsgi protocol: a health check without nginx.

usage: uwsgi_probe.py ADDRESS PATH [TIMEOUT]
  ADDRESS is HOST:PORT or the path of a unix socket.

Prints the HTTP status code and the body, and exits 0 on 200, 1 otherwise.
"""

from __future__ import annotations

import socket
import struct
import sys


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


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        code, body = request(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 5.0)
    except (OSError, ValueError, IndexError) as error:
        print(f"000 {argv[1]}: {error}")
        return 1
    print(code, body.strip())
    return 0 if code == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
