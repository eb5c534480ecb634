"""Entry point: uWSGI loads `app` from here (module = run:app); `python run.py` starts a dev server."""

from __future__ import annotations

import os

from app import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), debug=False)
