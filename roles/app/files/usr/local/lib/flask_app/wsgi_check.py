#!/usr/bin/env python3
"""Load a release's WSGI app in-process and GET paths from it, before it takes any traffic.

usage: wsgi_check.py RELEASE_DIR MODULE:CALLABLE EXPECTED_RELEASE PATH...
  MODULE:FACTORY() calls the factory for the app, as uWSGI does.

Exits 0 when every path answers 2xx (and reports EXPECTED_RELEASE when it answers
JSON with a "release" key); otherwise prints why and exits 1. Run
with the release's virtualenv Python, as the service user, with its environment.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def load(release_dir: str, target: str) -> WSGIApp:
    module_name, _, attribute = target.partition(":")
    sys.path.insert(0, release_dir)
    found = getattr(importlib.import_module(module_name), attribute.removesuffix("()"))
    return found() if attribute.endswith("()") else found


def get(app: WSGIApp, path: str) -> tuple[int, bytes]:
    """One GET through the WSGI interface, as uWSGI would call it."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        status.append(line)

    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return int(status[0].split()[0]), body


def check(release_dir: str, target: str, expected_release: str, paths: list[str]) -> list[str]:
    try:
        app = load(release_dir, target)
    except Exception as error:  # any import failure is the finding
        return [f"cannot import {target}: {type(error).__name__}: {error}"]
    problems = []
    for path in paths:
        try:
            code, body = get(app, path)
        except Exception as error:
            problems.append(f"GET {path} raised {type(error).__name__}: {error}")
            continue
        if not 200 <= code < 300:
            problems.append(f"GET {path} answered {code}")
            continue
        try:
            reported = json.loads(body).get("release")
        except (ValueError, AttributeError):
            reported = None
        if reported is not None and reported != expected_release:
            problems.append(f"GET {path} reports release {reported}, expected {expected_release}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[1], argv[2], argv[3], argv[4:])
    for problem in problems:
        print(problem)
    if not problems:
        print(f"release {argv[3]}: {', '.join(argv[4:])} answered 2xx")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
