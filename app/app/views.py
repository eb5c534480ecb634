"""Routes of the flask_app application."""

from __future__ import annotations

import functools
import socket

from flask import Blueprint, Response, current_app, jsonify, render_template

bp = Blueprint("main", __name__)


def _identity() -> dict[str, str]:
    return {
        # A system call per request otherwise; the name does not change under a running worker.
        "hostname": _hostname(),
        "release": current_app.config["RELEASE"],
        "service": current_app.config["SERVICE_NAME"],
    }


@functools.cache
def _hostname() -> str:
    return socket.gethostname()


@bp.get("/")
def index() -> str:
    """The start page; app.js fills in which app server answered."""
    return render_template("index.html", **_identity())


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness and release check for deploys and load balancers."""
    response = jsonify(status="ok", **_identity())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/info")
def api_info() -> Response:
    """Which server and release answered: shown on the page by app.js."""
    response = jsonify(**_identity())
    response.headers["Cache-Control"] = "no-store"
    return response
