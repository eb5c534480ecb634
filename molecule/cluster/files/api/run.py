"""A second, minimal service for the cluster scenario: nginx routes /api/ here."""

from __future__ import annotations

import socket
from pathlib import Path

from flask import Flask, Response, jsonify

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
