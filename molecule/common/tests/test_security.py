"""Hardening promises that hold on every single host: sandboxed unit, headers, files, TLS, gixy."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from support import record

UNIT = "uwsgi-flask_app"
MAX_EXPOSURE = 2.0
PROJECT = Path(__file__).resolve().parents[3]
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")


def test_uwsgi_unit_exposure_is_at_most_2(host: Any) -> None:
    report = host.check_output(f"systemd-analyze security --no-pager {UNIT}.service")
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", report).group(1))
    record(f"{host.backend.host}: systemd-analyze security {UNIT}: exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, report


def test_uwsgi_runs_without_capabilities_and_with_no_new_privileges(host: Any) -> None:
    pid = host.check_output(f"systemctl show -p MainPID --value {UNIT}")
    status = host.file(f"/proc/{pid}/status").content_string
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/css/style.css", "/no-such-page", "/static/missing.css"])
def test_security_headers_on_every_response(base_url: str, web: requests.Session, path: str) -> None:
    response = web.get(base_url + path, timeout=10)
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]
    assert not missing, f"{path} ({response.status_code}) lacks {missing}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_nginx_config_follows_the_baseline(host: Any) -> None:
    with host.sudo():
        for path in ("/etc/nginx/nginx.conf", "/etc/nginx/sites-available/flask_app.conf"):
            node = host.file(path)
            assert node.user == "root" and node.group == "root"
            assert not node.mode & 0o022, f"{path} is writable by others: {oct(node.mode)}"
        config = host.check_output("nginx -T 2>/dev/null")
    assert "server_tokens off;" in config
    assert "client_max_body_size" in config
    assert "autoindex on" not in config
    masters = host.check_output("ps -eo user,args --no-headers | grep -c '[n]ginx: master'")
    assert masters == "1"
    workers = host.check_output("ps -eo user,args --no-headers | grep '[n]ginx: worker'").splitlines()
    assert workers and all(line.split()[0] == "www-data" for line in workers)


def test_unix_socket_is_not_world_accessible(host: Any, socket_mode: str) -> None:
    if socket_mode != "unix":
        pytest.skip("TCP mode: the socket is a port on 127.0.0.1")
    assert not host.file("/run/flask_app/uwsgi.sock").mode & 0o007


def test_virtualenv_is_root_owned(host: Any) -> None:
    venv = host.file("/srv/flask_app/flask_app/current/.venv").linked_to
    for path in (venv, venv + "/bin/python", venv + "/pyvenv.cfg"):
        node = host.file(path)
        assert node.user == "root"
        assert not node.mode & 0o022


def test_gixy_finds_nothing_in_the_rendered_config(host: Any, tmp_path: Path) -> None:
    """gixy-ng reads the config as nginx would, with /etc/nginx copied off the host."""
    root = tmp_path / "nginx"
    subprocess.run(["docker", "cp", f"{host.backend.host}:/etc/nginx", str(root)], check=True)
    for conf in root.rglob("*"):
        if conf.is_file() and not conf.is_symlink():
            conf.write_text(conf.read_text(errors="replace").replace("/etc/nginx/", f"{root}/"), errors="replace")
    for link in root.rglob("*"):
        if link.is_symlink():
            target = str(Path(link.readlink()))
            link.unlink()
            link.symlink_to(target.replace("/etc/nginx/", f"{root}/"))
    gixy = shutil.which("gixy") or str(Path(shutil.which("ansible-playbook")).parent / "gixy")
    result = subprocess.run([gixy, str(root / "nginx.conf")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout, result.stdout


def test_tls_offers_only_1_2_and_1_3(tls_port: int) -> None:
    def negotiate(low: ssl.TLSVersion, high: ssl.TLSVersion) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version, context.maximum_version = low, high
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw, context.wrap_socket(raw) as tls:
            return tls.version() or ""

    assert negotiate(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED) == "TLSv1.3"
    assert negotiate(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        negotiate(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)


def test_http_redirects_to_https_and_hsts_is_sent(
    http_url: str, base_url: str, web: requests.Session, tls_port: int
) -> None:
    redirect = requests.get(http_url + "/healthz?x=1", timeout=10, allow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://")
    assert redirect.headers["Location"].endswith("/healthz?x=1")
    secure = web.get(base_url + "/healthz", timeout=10)
    assert secure.status_code == 200
    # This name only: includeSubDomains and preload are opt-in (nginx_hsts_include_subdomains, _preload).
    assert re.fullmatch(r"max-age=\d+", secure.headers["Strict-Transport-Security"])


def test_tls_key_is_root_only(host: Any, tls_port: int) -> None:
    with host.sudo():
        config = host.check_output("nginx -T 2>/dev/null")
        (path,) = set(re.findall(r"^\s*ssl_certificate_key (/etc/nginx/tls/[^;/]+\.key);$", config, re.M))
        key = host.file(path)
        assert key.user == "root" and key.mode == 0o600
        assert host.file("/etc/nginx/tls").mode == 0o700
    assert "ssl_session_tickets off;" in config
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in config
