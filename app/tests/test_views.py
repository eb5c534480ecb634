"""One test per route promise."""

from __future__ import annotations

import socket

from flask import Flask
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


def test_cached_links_follow_the_script_root(client: FlaskClient) -> None:
    # The page's links are computed once per script root, not once per process.
    plain = client.get("/").get_data(as_text=True)
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/shop"}).get_data(as_text=True)
    assert 'href="/static/css/style.css?v=test-release"' in plain
    assert 'href="/shop/static/css/style.css?v=test-release"' in mounted
    assert 'href="/shop/"' in mounted


def test_sessions_still_sign_and_the_signer_is_built_once(app: Flask) -> None:
    interface = app.session_interface
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    app.secret_key = "another-key"
    assert interface.get_signing_serializer(app).loads(interface.get_signing_serializer(app).dumps({"a": 1})) == {
        "a": 1
    }
