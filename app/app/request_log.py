"""Request ids and slow-request logging.

nginx gives every request an id and passes it as the X-Request-ID header
(HTTP_X_REQUEST_ID in the WSGI environ). The app hands the same id back in its
response, errors included, so a user's report, nginx's access log on the front
end and uWSGI's request log on the app server can all be matched on it. Run
without nginx (the dev server, a probe), the app makes up an id itself.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
# What nginx's $request_id looks like, plus the usual UUID/ULID shapes a trusted
# caller may send; anything else is replaced rather than echoed into logs.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

log = logging.getLogger("flask_app.requests")


def request_id_from(environ_value: str | None) -> str:
    """The id nginx passed, or a new one when it is missing or malformed."""
    if environ_value and _VALID_ID.match(environ_value):
        return environ_value
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Tag every request with its id and log the ones slower than SLOW_REQUEST_MS."""
    if not log.handlers:
        # stderr is the uWSGI service log under uWSGI.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.monotonic()

    @app.after_request
    def _finish(response: Response) -> Response:
        # An exception before before_request ran (rare) still gets an id.
        request_id = g.get("request_id") or request_id_from(request.headers.get(HEADER))
        response.headers[HEADER] = request_id
        started = g.get("request_started")
        if started is not None:
            elapsed_ms = (time.monotonic() - started) * 1000
            if elapsed_ms >= app.config["SLOW_REQUEST_MS"]:
                log.warning(
                    "SLOW request id=%s method=%s path=%s status=%s ms=%.0f",
                    request_id,
                    request.method,
                    request.path,
                    response.status_code,
                    elapsed_ms,
                )
        return response
