"""One test per route promise."""

from __future__ import annotations

import socket

from flask.testing import FlaskClient


def test_index_renders_base_layout(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'id="site-header"' in body
    assert 'id="site-footer"' in body
    assert "/static/css/style.css" in body
    assert "/static/js/app.js" in body
    assert "test-release" in body


def test_healthz_reports_status_release_hostname(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["status"] == "ok"
    assert data["release"] == "test-release"
    assert data["hostname"] == socket.gethostname()


def test_api_info_names_serving_host_and_release(client: FlaskClient) -> None:
    data = client.get("/api/info").get_json()
    assert data == {
        "hostname": socket.gethostname(),
        "release": "test-release",
        "service": "flask_app",
    }


def test_unknown_path_is_404(client: FlaskClient) -> None:
    assert client.get("/no-such-page").status_code == 404


def test_static_files_are_packaged(client: FlaskClient) -> None:
    assert client.get("/static/css/style.css").status_code == 200
    assert client.get("/static/js/app.js").status_code == 200
