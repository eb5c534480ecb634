"""Per-request work done once instead: measured on `GET /` (docs/performance.md).

Flask rebuilds the session cookie signer on every request and `url_for` walks the
URL map for each link a page renders; neither result changes while a release
runs, so both are computed once and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedSignerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per set of keys."""

    def __init__(self) -> None:
        self._signers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # A changed key (or key rotation through SECRET_KEY_FALLBACKS) gets its own signer.
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if key not in self._signers:
            self._signers[key] = super().get_signing_serializer(app)
        return self._signers[key]


def cached_url_for() -> Callable[..., str]:
    """`url_for` for relative links, which depend only on the endpoint, its values and the script root."""
    urls: dict[tuple[Any, ...], str] = {}

    def link_for(endpoint: str, **values: object) -> str:
        if "_external" in values or "_scheme" in values:
            return url_for(endpoint, **values)  # these depend on the request's host
        key = (request.script_root, endpoint, tuple(sorted(values.items())))
        if key not in urls:
            if len(urls) >= 1024:  # a bound, should values ever vary per request
                urls.clear()
            urls[key] = url_for(endpoint, **values)
        return urls[key]

    return link_for


def init_app(app: Flask) -> None:
    app.session_interface = CachedSignerSessionInterface()
    app.add_template_global(cached_url_for(), "link_for")
