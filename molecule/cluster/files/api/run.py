"""A second, minimal service for the cluster scenario: nginx routes /api/ here."""

from __future__ import annotations

import socket

from flask import Flask, Response, jsonify

app = Flask(__name__)


def _identity() -> dict[str, str]:
    return {"hostname": socket.gethostname(), "release": "api-fixture", "service": "api"}


@app.get("/api/info")
def info() -> Response:
    return jsonify(**_identity())


@app.get("/api/healthz")
def healthz() -> Response:
    return jsonify(status="ok", **_identity())
