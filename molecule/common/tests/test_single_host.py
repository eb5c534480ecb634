"""Promises of the single-host stack: nginx :80 -> uWSGI -> Flask, on one host."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from conftest import wait_until

SERVICE = "flask_app"
UNIT = f"uwsgi-{SERVICE}"
UWSGI_LOG = f"/var/log/uwsgi/{SERVICE}.log"
NGINX_ACCESS_LOG = f"/var/log/nginx/{SERVICE}.access.log"


@pytest.mark.parametrize("unit", ["nginx", UNIT])
def test_services_are_enabled_and_running(host: Any, unit: str) -> None:
    service = host.service(unit)
    assert service.is_enabled
    assert service.is_running


def test_nginx_listens_on_port_80(host: Any) -> None:
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_uwsgi_socket_is_not_exposed(host: Any, socket_mode: str) -> None:
    if socket_mode == "tcp":
        assert host.socket("tcp://127.0.0.1:8080").is_listening
        assert not host.socket("tcp://0.0.0.0:8080").is_listening
    else:
        sock = host.file(f"/run/{SERVICE}/uwsgi.sock")
        assert sock.is_socket
        assert sock.mode == 0o660
        assert sock.user == SERVICE
        assert sock.group == "www-data"
        assert not host.socket("tcp://0.0.0.0:8080").is_listening
        assert not host.socket("tcp://127.0.0.1:8080").is_listening


def test_uwsgi_runs_as_the_app_user_not_root(host: Any) -> None:
    lines = host.check_output("ps -eo user:32,args --no-headers").splitlines()
    uwsgi = [line for line in lines if "uWSGI" in line or "/usr/bin/uwsgi" in line]
    assert len(uwsgi) >= 2, lines  # a master and at least one worker
    assert all(line.split()[0] == SERVICE for line in uwsgi), uwsgi


def test_page_has_base_layout(base_url: str, web: requests.Session) -> None:
    response = web.get(base_url + "/", timeout=10)
    assert response.status_code == 200
    assert 'id="site-header"' in response.text
    assert 'id="site-footer"' in response.text
    assert "/static/css/style.css" in response.text


def test_healthz_reports_status_release_and_host(host: Any, base_url: str, web: requests.Session) -> None:
    response = web.get(base_url + "/healthz", timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["hostname"] == host.check_output("hostname")
    live_release = host.file(f"/srv/flask_app/{SERVICE}/current").linked_to.rsplit("/", 1)[-1]
    assert data["release"] == live_release


def test_server_version_is_hidden(base_url: str, web: requests.Session) -> None:
    assert web.get(base_url + "/healthz", timeout=10).headers["Server"] == "nginx"


def test_static_is_served_by_nginx_without_uwsgi(host: Any, base_url: str, web: requests.Session) -> None:
    with host.sudo():
        host.check_output(f"systemctl stop {UNIT}")
    try:
        css = web.get(base_url + "/static/css/style.css", timeout=10)
        assert css.status_code == 200
        assert "text/css" in css.headers["Content-Type"]
        assert "max-age=" in css.headers["Cache-Control"]
        assert ".site-header" in css.text
        # The app itself is down: proof the CSS did not come from it.
        assert web.get(base_url + "/", timeout=10).status_code == 502
    finally:
        with host.sudo():
            host.check_output(f"systemctl start {UNIT}")
    assert wait_until(lambda: web.get(base_url + "/healthz", timeout=5).status_code == 200)


def test_request_is_logged_by_nginx_and_uwsgi(host: Any, base_url: str, web: requests.Session) -> None:
    probe = uuid.uuid4().hex
    assert web.get(f"{base_url}/?probe={probe}", timeout=10).status_code == 200
    with host.sudo():
        assert wait_until(lambda: probe in host.file(NGINX_ACCESS_LOG).content_string, timeout=10)
        assert wait_until(lambda: probe in host.file(UWSGI_LOG).content_string, timeout=10)


def test_logrotate_keeps_logging_after_rotation(host: Any, base_url: str, web: requests.Session) -> None:
    with host.sudo():
        for config in ("/etc/logrotate.d/nginx", "/etc/logrotate.d/flask_app-uwsgi"):
            host.check_output(f"logrotate --debug {config}")
        web.get(f"{base_url}/?before-rotation", timeout=10)
        host.check_output("logrotate --force /etc/logrotate.d/nginx /etc/logrotate.d/flask_app-uwsgi")
        probe = uuid.uuid4().hex
        # uWSGI reopens its log within a few seconds of the touch; keep asking until it has.
        assert wait_until(
            lambda: (
                web.get(f"{base_url}/?probe={probe}", timeout=5).ok and probe in host.file(UWSGI_LOG).content_string
            ),
            timeout=20,
            step=1,
        )
        assert wait_until(lambda: probe in host.file(NGINX_ACCESS_LOG).content_string, timeout=10)
        assert host.file(UWSGI_LOG + ".1").exists
        assert host.file(NGINX_ACCESS_LOG + ".1").exists


def test_debian_default_site_is_gone(host: Any) -> None:
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_secrets_file_is_root_only(host: Any) -> None:
    env = host.file(f"/etc/flask_app/{SERVICE}.env")
    assert env.user == "root"
    assert env.mode == 0o600


def test_code_is_root_owned_and_read_only_for_the_app(host: Any) -> None:
    release = host.file(f"/srv/flask_app/{SERVICE}/current").linked_to
    for path in (release, release + "/run.py", release + "/app/views.py"):
        node = host.file(path)
        assert node.user == "root"
        assert not node.mode & 0o022, oct(node.mode)
    with host.sudo(SERVICE):
        assert host.run(f"touch {release}/intruder").rc != 0


def test_offline_host_cannot_reach_a_package_index(host: Any, ansible_vars: dict[str, Any]) -> None:
    if ansible_vars.get("app_pip_mode") != "offline":
        pytest.skip("index mode: the host is meant to reach PyPI")
    probe = host.run(
        "python3 -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=5)\""
    )
    assert probe.rc != 0
    # Yet the app's packages are installed, from the controller's wheels.
    venv = host.check_output(f"ls -d /srv/flask_app/{SERVICE}/venvs/*-py*")
    assert "Flask" in host.check_output(f"{venv}/bin/python -m pip list --format=freeze")
