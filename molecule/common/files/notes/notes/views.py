"""A form that writes rows, a page that lists them, and a session login."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session

from .db import Note, db

bp = Blueprint("notes", __name__)


@bp.get("/")
def index() -> dict:
    notes = db.session.scalars(db.select(Note).order_by(Note.id)).all()
    return {"notes": [note.body for note in notes], "greeting": current_app.config.get("GREETING", "")}


@bp.post("/add")
def add():  # noqa: ANN201
    db.session.add(Note(body=request.form["body"]))
    db.session.commit()
    return redirect("/")


@bp.post("/login")
def login() -> str:
    session["user"] = request.form["user"]
    return "logged in"


@bp.get("/whoami")
def whoami() -> str:
    return session.get("user", "nobody")
