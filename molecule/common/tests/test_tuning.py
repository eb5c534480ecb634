"""The serving defaults of docs/performance.md, as rendered on the host."""

from __future__ import annotations

from typing import Any

import requests

SERVICE = "flask_app"


def test_static_files_are_gzipped_and_versioned_ones_cached_for_a_year(base_url: str, web: requests.Session) -> None:
    page = web.get(base_url + "/", timeout=10).text
    release = web.get(base_url + "/healthz", timeout=10).json()["release"]
    assert f"/static/css/style.css?v={release}" in page, "the page does not version its assets"
    versioned = web.get(f"{base_url}/static/css/style.css?v={release}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert versioned.status_code == 200
    assert versioned.headers["Content-Encoding"] == "gzip"
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = web.get(base_url + "/static/js/app.js", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert plain.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Cache-Control"] == "public, max-age=86400"
    # Another release's URL gets the files that are here: no browser may keep them.
    other = web.get(base_url + "/static/css/style.css?v=abc123", timeout=10)
    assert other.status_code == 200
    assert other.headers["Cache-Control"] == "no-cache"


def test_workers_are_single_threaded_where_uwsgi_cannot_reload_threads(host: Any) -> None:
    """uWSGI before 2.0.25 (Debian 12) can hang a threaded worker in its graceful reload
    (docs/troubleshooting.md): there each worker gets one thread, elsewhere two."""
    version = host.check_output("uwsgi --version").split("-")[0]
    with host.sudo():
        ini = host.file(f"/etc/uwsgi/{SERVICE}/app.ini").content_string
    settings = dict(line.split(" = ", 1) for line in ini.splitlines() if " = " in line and not line.startswith(";"))
    fixed = tuple(int(part) for part in version.split(".")) >= (2, 0, 25)
    assert int(settings["threads"]) == (2 if fixed else 1), (version, settings["threads"])
    # The reload signal handler must not date its log line itself (libc's time zone lock).
    assert "log-date" not in settings and settings["log-master"] == "true"


def test_workers_and_backlog_follow_the_host(host: Any) -> None:
    cpus = int(host.check_output("nproc"))
    somaxconn = int(host.check_output("cat /proc/sys/net/core/somaxconn"))
    with host.sudo():
        ini = host.file(f"/etc/uwsgi/{SERVICE}/app.ini").content_string
    settings = dict(line.split(" = ", 1) for line in ini.splitlines() if " = " in line and not line.startswith(";"))
    assert int(settings["processes"]) == max(2, 2 * cpus)
    assert int(settings["listen"]) == min(1024, somaxconn)
    with host.sudo():
        nginx = host.file("/etc/nginx/nginx.conf").content_string
    assert "worker_processes auto;" in nginx
