"""Follow one request through nginx and uWSGI; metrics stay on the host.

The controller reaches the site through the published port: to nginx it is an
untrusted client. Requests made inside the host come from 127.0.0.1, which
the scenarios list in nginx_request_id_trusted_sources.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import requests
from conftest import wait_until
from support import fetch_inside

SERVICE = "flask_app"
UWSGI_LOG = f"/var/log/uwsgi/{SERVICE}.log"
NGINX_ACCESS_LOG = f"/var/log/nginx/{SERVICE}.access.log"
STATS_SOCKET = f"/run/{SERVICE}/stats.sock"
STUB_STATUS = "http://127.0.0.1:8090/stub_status"


def log_lines(host: Any, path: str, needle: str) -> list[str]:
    with host.sudo():
        return [line for line in host.file(path).content_string.splitlines() if needle in line]


def test_untrusted_request_id_is_replaced_and_found_in_both_logs(
    host: Any, base_url: str, web: requests.Session
) -> None:
    sent = f"client-{uuid.uuid4().hex}"
    response = web.get(base_url + "/api/info", headers={"X-Request-ID": sent}, timeout=10)
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert request_id != sent, "an id from an untrusted client was kept"
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    # Exactly one header: nginx's copy replaces the app's (same value).
    assert response.raw.headers.getlist("X-Request-ID") == [request_id]
    assert wait_until(lambda: bool(log_lines(host, NGINX_ACCESS_LOG, request_id)), timeout=10)
    assert wait_until(lambda: bool(log_lines(host, UWSGI_LOG, f"id={request_id} ")), timeout=10)
    assert not log_lines(host, NGINX_ACCESS_LOG, sent)
    (uwsgi_line,) = log_lines(host, UWSGI_LOG, f"id={request_id} ")
    assert "status=200" in uwsgi_line and "uri=/api/info" in uwsgi_line
    assert re.search(r" ms=\d+ worker=\d+ ", uwsgi_line), uwsgi_line


def test_trusted_source_keeps_its_request_id(host: Any, tls_enabled: bool, ansible_vars: dict[str, Any]) -> None:
    # With TLS, plain HTTP only redirects: ask HTTPS, from loopback too.
    url = f"https://127.0.0.1:{ansible_vars.get('nginx_https_port', 443)}" if tls_enabled else "http://127.0.0.1"
    sent = f"trusted-{uuid.uuid4().hex}"
    rc, out = fetch_inside(host, url + "/api/info", {"X-Request-ID": sent}, verify=False)
    assert rc == 0, out
    assert f"'X-Request-ID': '{sent}'" in out
    assert wait_until(lambda: bool(log_lines(host, UWSGI_LOG, f"id={sent} ")), timeout=10)


def test_errors_carry_the_request_id(base_url: str, web: requests.Session) -> None:
    response = web.get(base_url + f"/no-such-page-{uuid.uuid4().hex}", timeout=10)
    assert response.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    static = web.get(base_url + "/static/css/style.css", timeout=10)
    assert static.headers.get("X-Request-ID")


def test_access_log_format(host: Any, ansible_vars: dict[str, Any], base_url: str, web: requests.Session) -> None:
    request_id = web.get(base_url + "/healthz", timeout=10).headers["X-Request-ID"]
    assert wait_until(lambda: bool(log_lines(host, NGINX_ACCESS_LOG, request_id)), timeout=10)
    (line,) = log_lines(host, NGINX_ACCESS_LOG, request_id)
    if ansible_vars.get("nginx_access_log_format", "main") == "json":
        with host.sudo():
            lines = host.file(NGINX_ACCESS_LOG).content_string.splitlines()
        entries = [json.loads(raw) for raw in lines]  # every line parses
        assert entries
        entry = json.loads(line)
        assert entry["request_id"] == request_id and entry["status"] == 200
        assert isinstance(entry["request_time"], int | float)
        assert entry["upstream_addr"] and entry["upstream_response_time"] != ""
    else:
        assert f"rid={request_id}" in line
        assert re.search(r'" 200 \d+ .* rt=[0-9.]+ urt=[0-9.]+ ua=\S+ us=200 rid=', line), line


def test_stub_status_answers_on_the_host_only(host: Any, base_url: str, web: requests.Session) -> None:
    rc, out = fetch_inside(host, STUB_STATUS)
    assert rc == 0, out
    assert "Active connections:" in out
    assert not host.socket("tcp://0.0.0.0:8090").is_listening
    public = web.get(base_url + "/stub_status", timeout=10)
    assert "Active connections" not in public.text


def test_uwsgi_stats_answer_on_the_host_only(host: Any) -> None:
    with host.sudo():
        stats = host.file(STATS_SOCKET)
        assert stats.is_socket and stats.user == SERVICE
        assert stats.mode & 0o007 == 0, "the stats socket is open to every local user"
        raw = host.check_output(
            "python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            'd = b""\nwhile (c := s.recv(65536)): d += c\nprint(d.decode())\' ' + STATS_SOCKET
        )
    data = json.loads(raw)
    assert data["workers"] and {"status", "requests", "respawn_count", "harakiri_count", "rss"} <= set(
        data["workers"][0]
    )
    # Only the uWSGI socket of the service listens on TCP (tcp mode), never the stats server.
    with host.sudo():
        listeners = host.check_output("ss -Htlnp")
    assert not [line for line in listeners.splitlines() if "uwsgi" in line and ":8080 " not in line], listeners
