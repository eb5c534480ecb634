"""Notes: an application factory, settings from the instance folder and the environment,
SQLite through Flask-SQLAlchemy, its schema in Flask-Migrate's migrations/."""

from __future__ import annotations

import os

from flask import Flask

from .db import db, migrate


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    # A relative SQLite path is in the instance folder (Flask-SQLAlchemy).
    app.config.from_mapping(SECRET_KEY="dev", SQLALCHEMY_DATABASE_URI="sqlite:///notes.sqlite")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db)

    from . import views

    app.register_blueprint(views.bp)
    return app
