"""A second, minimal service for the cluster scenario: nginx routes /api/ here."""

from __future__ import annotations

import socket
from pathlib import Path

from flask import Flask, Response, jsonify, request, url_for

app = Flask(__name__)
# Written by the deploy next to this file: the release checks compare it.
RELEASE = (Path(__file__).resolve().parent / "RELEASE").read_text(encoding="utf-8").strip()


def _identity() -> dict[str, str]:
    return {"hostname": socket.gethostname(), "release": RELEASE, "service": "api"}


@app.get("/api/info")
def info() -> Response:
    return jsonify(**_identity())


@app.get("/api/healthz")
def healthz() -> Response:
    return jsonify(status="ok", **_identity())


@app.get("/api/request")
def request_seen() -> Response:
    """The client as the app sees it (test_real_ip.py): what nginx passed, no ProxyFix."""
    return jsonify(
        remote_addr=request.remote_addr,
        scheme=request.scheme,
        external_url=url_for("request_seen", _external=True),
        forwarded={name: request.headers.get(f"X-Forwarded-{name}") for name in ("For", "Proto", "Host")},
    )
