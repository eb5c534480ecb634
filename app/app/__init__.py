"""The flask_app application: an application factory and the `app` object uWSGI calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import load_config

APP_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app with config from the environment (see app/config.py)."""
    application = Flask(__name__)
    application.config.update(load_config(os.environ, APP_ROOT))
    if overrides:
        application.config.update(overrides)

    from app import request_log, speedups, views

    application.register_blueprint(views.bp)
    request_log.init_app(application)
    speedups.init_app(application)
    # Under uWSGI stderr goes to the service log: each worker states which
    # release it loaded, so a reload can be followed there.
    print(
        f"{application.config['SERVICE_NAME']}: release {application.config['RELEASE']} loaded in pid {os.getpid()}",
        file=sys.stderr,
        flush=True,
    )
    return application
