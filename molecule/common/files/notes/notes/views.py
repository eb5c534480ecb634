"""A form that writes rows, a page that lists them, and a session login."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session

from .db import get_db

bp = Blueprint("notes", __name__)


@bp.get("/")
def index() -> dict:
    rows = get_db().execute("SELECT body FROM note ORDER BY id").fetchall()
    return {"notes": [row["body"] for row in rows], "greeting": current_app.config.get("GREETING", "")}


@bp.post("/add")
def add():  # noqa: ANN201
    get_db().execute("INSERT INTO note (body) VALUES (?)", (request.form["body"],))
    get_db().commit()
    return redirect("/")


@bp.post("/login")
def login() -> str:
    session["user"] = request.form["user"]
    return "logged in"


@bp.get("/whoami")
def whoami() -> str:
    return session.get("user", "nobody")
