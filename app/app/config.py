"""Configuration read from the environment: nothing secret lives in the code."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RELEASE_FILE = "RELEASE"


def read_release(environ: Mapping[str, str], app_root: Path) -> str:
    """Return the release id: $APP_RELEASE, else the RELEASE file a deploy writes, else "dev".

    The file is preferred over an environment variable in production because it
    travels with the code: a graceful reload onto a new release needs no change
    to the service's environment.
    """
    if environ.get("APP_RELEASE"):
        return environ["APP_RELEASE"]
    release_file = app_root / RELEASE_FILE
    try:
        return release_file.read_text(encoding="utf-8").strip() or "dev"
    except OSError:
        return "dev"


def load_config(environ: Mapping[str, str], app_root: Path) -> dict[str, Any]:
    """Map environment variables onto Flask config keys."""
    secret_key = environ.get("SECRET_KEY", "")
    if not secret_key:
        # A local dev server may run without one; sessions just do not survive a restart.
        # Production always sets it (the app role refuses an empty SECRET_KEY).
        secret_key = secrets.token_hex(32)
    return {
        "SECRET_KEY": secret_key,
        "RELEASE": read_release(environ, app_root),
        "SERVICE_NAME": environ.get("APP_SERVICE_NAME", "flask_app"),
        "SEND_FILE_MAX_AGE_DEFAULT": int(environ.get("APP_STATIC_MAX_AGE", "3600")),
        # Requests at least this slow are logged as "SLOW request" with their id.
        "SLOW_REQUEST_MS": int(environ.get("APP_SLOW_REQUEST_MS", "1000")),
    }
