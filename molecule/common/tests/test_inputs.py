"""Bad input stops site.yml before anything on the host changes, with a message naming the variable.

Runs against the Debian 13 host of the unix scenario: every case is a real
`ansible-playbook site.yml` run with one bad variable; the host's config,
code and units must be byte-for-byte what they were, and the site must answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support import PROJECT, playbook

WATCHED = "/etc/nginx /etc/uwsgi /etc/flask_app /etc/systemd/system /srv/flask_app /var/www/flask_app"
GOOD_SERVICE = {"name": "flask_app", "src": str(PROJECT / "app"), "port": 8080, "static_dir": "app/static"}
GOOD_SERVICE_GIT = {key: value for key, value in GOOD_SERVICE.items() if key != "src"} | {
    "git": {"repo": "/nonexistent/repo", "version": "main"}
}
ROUTES = [{"path": "/static/", "service": "flask_app", "type": "static"}, {"path": "/", "service": "flask_app"}]

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "port out of range",
        {"stack_services": [{**GOOD_SERVICE, "port": 70000}]},
        ["stack_services[0] (flask_app).port", "70000"],
    ),
    (
        "port not a number",
        {"stack_services": [{**GOOD_SERVICE, "port": "eighty"}]},
        ["stack_services[0] (flask_app).port must be a port number 1-65535", "eighty"],
    ),
    (
        "unknown socket mode of a service",
        {"stack_services": [{**GOOD_SERVICE, "socket_mode": "udp"}]},
        ["socket_mode must be one of auto, tcp, unix", "udp"],
    ),
    ("unknown default socket mode", {"stack_socket_mode": "fifo"}, ["stack_socket_mode", "fifo"]),
    (
        "route to an undefined service",
        {"stack_routes": [*ROUTES, {"path": "/api/", "service": "api"}]},
        ["stack_routes[2].service 'api' is not defined in stack_services"],
    ),
    (
        "two services on one port",
        {"stack_services": [GOOD_SERVICE, {**GOOD_SERVICE, "name": "api"}], "stack_socket_mode": "tcp"},
        ["port 8080 is used by 2 services"],
    ),
    ("malformed service name", {"stack_services": [{**GOOD_SERVICE, "name": "Bad-Name"}]}, ["name must be"]),
    ("release id with a slash", {"stack_release": "v1/beta"}, ["stack_release must be auto or", "v1/beta"]),
    (
        "code directory missing",
        {"stack_services": [{**GOOD_SERVICE, "src": "/nonexistent/app"}]},
        ["src must be a directory on the controller", "/nonexistent/app"],
    ),
    (
        "route path without slashes",
        {"stack_routes": [{"path": "api", "service": "flask_app"}]},
        ["stack_routes[0].path must be a URL path prefix that starts and ends with /"],
    ),
    ("empty SECRET_KEY", {"app_secret_key": ""}, ["app_secret_key must be one line of at least 16 characters"]),
    ("unknown pip mode", {"app_pip_mode": "carrier-pigeon"}, ["app_pip_mode must be one of: index, offline"]),
    (
        "missing extra CA file",
        {"app_pip_extra_ca_cert": "/nonexistent/ca.pem"},
        ["app_pip_extra_ca_cert must be a file on the controller", "/nonexistent/ca.pem"],
    ),
    ("threads not a number", {"uwsgi_threads": "many"}, ["uwsgi_threads", "many", "unable to convert to int"]),
    ("backlog above somaxconn", {"uwsgi_listen_backlog": 100000}, ["uwsgi_listen_backlog must be 16-4096"]),
    (
        "too few nginx connections",
        {"nginx_worker_connections": 8},
        ["nginx_worker_connections must be an integer >= 64"],
    ),
    ("nginx port zero", {"nginx_http_port": 0}, ["nginx_http_port must be a port number 1-65535, got 0"]),
    (
        "unknown TLS mode",
        {"nginx_tls_mode": "sometimes"},
        ["nginx_tls_mode must be one of: none, provided, self_signed"],
    ),
    (
        "missing certificate file",
        {
            "nginx_tls_mode": "provided",
            "nginx_tls_certificate": "/nonexistent/site.crt",
            "nginx_tls_certificate_key": "/nonexistent/site.key",
        },
        ["nginx_tls_certificate must be a file on the controller", "/nonexistent/site.crt"],
    ),
    (
        "server name with a semicolon",
        {"nginx_server_name": "example.com; root /"},
        ["nginx_server_name must be host names"],
    ),
    (
        "firewall source not an address",
        {"firewall_uwsgi_allowed_sources": ["the-web-servers"]},
        ["firewall_uwsgi_allowed_sources must be a list of IP addresses or networks", "the-web-servers"],
    ),
    (
        "unknown access log format",
        {"nginx_access_log_format": "xml"},
        ["nginx_access_log_format must be one of: main, json"],
    ),
    (
        "access log buffer not a size",
        {"nginx_access_log_buffer": "lots"},
        ["nginx_access_log_buffer must be an nginx size", "lots"],
    ),
    (
        "request id source not an address",
        {"nginx_request_id_trusted_sources": ["the-load-balancer"]},
        ["nginx_request_id_trusted_sources must be a list of IP addresses or networks", "the-load-balancer"],
    ),
    (
        "stub_status listener without a port",
        {"nginx_stub_status_listen": "localhost"},
        ["nginx_stub_status_listen must be IPV4-ADDRESS:PORT", "localhost"],
    ),
    (
        "exporter open to nobody in particular",
        {"monitoring_node_exporter": True, "monitoring_listen_address": "10.0.0.5"},
        ["An exporter is on but monitoring_allowed_sources is empty"],
    ),
    (
        "nginx exporter without stub_status",
        {"monitoring_nginx_exporter": True, "monitoring_listen_address": "127.0.0.1", "nginx_stub_status_listen": ""},
        ["monitoring_nginx_exporter needs nginx_stub_status_listen"],
    ),
    (
        "monitoring source not an address",
        {"monitoring_allowed_sources": ["prometheus.example.com"]},
        ["monitoring_allowed_sources must be a list of IP addresses or networks", "prometheus.example.com"],
    ),
    ("unsupported Debian release", {"stack_supported_releases": ["11"]}, ["runs Debian 13", "Debian 11"]),
    # Issue 18: values that rewrote a config, took over an account or turned a protection off.
    (
        "route path that adds a location",
        {
            "stack_routes": [
                *ROUTES,
                {"path": "/x/ { autoindex on; alias /etc/; } location /y/", "service": "flask_app"},
            ]
        },
        ["stack_routes[2].path must be", "autoindex"],
    ),
    (
        "header value that adds a directive",
        {"nginx_security_headers": {"X-Frame-Options": 'DENY" always; autoindex on; add_header X "y'}},
        ["nginx_security_headers must be a mapping of header names"],
    ),
    (
        "header name with a newline",
        {"nginx_security_headers": {"X-A\nautoindex": "on"}},
        ["nginx_security_headers must be a mapping of header names"],
    ),
    (
        "body size that adds a directive",
        {"nginx_client_max_body_size": "1m; autoindex on"},
        ["nginx_client_max_body_size must be an nginx size", "autoindex"],
    ),
    (
        "worker count that adds a directive",
        {"nginx_worker_processes": "auto; user root"},
        ["nginx_worker_processes must be auto or an integer"],
    ),
    ("nginx user with a newline", {"nginx_user": "www-data\nuser root"}, ["nginx_user must be a user or group name"]),
    (
        "environment value with a newline",
        {"stack_services": [{**GOOD_SERVICE, "env": {"MODE": "x\nLD_PRELOAD=/tmp/evil.so"}}]},
        ["stack_services[0] (flask_app).env must be a mapping of NAME"],
    ),
    (
        "SECRET_KEY through env",
        {"stack_services": [{**GOOD_SERVICE, "env": {"SECRET_KEY": "chosen-by-the-inventory"}}]},
        ["stack_services[0] (flask_app).env must be a mapping of NAME", "not SECRET_KEY"],
    ),
    (
        "secret environment with a newline",
        {"app_secret_env": {"API_TOKEN": "t\nSECRET_KEY=x"}},
        ["app_secret_env must map names", "API_TOKEN"],
    ),
    (
        "log directory with a newline",
        {"uwsgi_log_dir": "/var/log/uwsgi\nExecStartPre=+/bin/sh -c id"},
        ["uwsgi_log_dir must be an absolute, normalised path"],
    ),
    (
        "socket group with a newline",
        {"uwsgi_socket_group": "www-data\nExecStartPre=+/bin/true"},
        ["uwsgi_socket_group must be a user or group name"],
    ),
    (
        "IP allow list that allows any",
        {"uwsgi_ip_address_allow": ["any"]},
        ["uwsgi_ip_address_allow must be a list of IP addresses or networks", "any"],
    ),
    (
        "service user root",
        {"stack_services": [{**GOOD_SERVICE, "user": "root"}]},
        ["stack_services[0] (flask_app).user must not be root"],
    ),
    (
        "service user nginx's",
        {"stack_services": [{**GOOD_SERVICE, "user": "www-data"}]},
        ["www-data (service flask_app)", "already"],
    ),
    (
        "release id with a trailing newline",
        {"stack_release": "abc123\n"},
        ["stack_release must be auto or", "abc123\\n"],
    ),
    (
        "static dir outside the code",
        {"stack_services": [{**GOOD_SERVICE, "static_dir": "../../../../../../etc"}]},
        ["stack_services[0] (flask_app).static_dir must be a relative, normalised path"],
    ),
    (
        "firewall source 0/0",
        {"firewall_uwsgi_allowed_sources": ["0/0"]},
        ["firewall_uwsgi_allowed_sources must be", "0/0"],
    ),
    (
        "stub_status on every address",
        {"nginx_stub_status_listen": "0.0.0.0:8090"},
        ["nginx_stub_status_listen must be", "0.0.0.0:8090"],
    ),
    # Issue 15's new keys: each wrong value named before anything changes.
    (
        "git repository that is an option",
        {
            "stack_services": [
                {**GOOD_SERVICE_GIT, "git": {"repo": "--upload-pack=touch /tmp/pwned", "version": "main"}}
            ]
        },
        ["stack_services[0] (flask_app).git.repo must be a URL"],
    ),
    (
        "git version that is a range",
        {"stack_services": [{**GOOD_SERVICE_GIT, "git": {"repo": "/nonexistent/repo", "version": "main..evil"}}]},
        ["stack_services[0] (flask_app).git.version must be a branch, tag or commit"],
    ),
    (
        "both src and git",
        {"stack_services": [{**GOOD_SERVICE_GIT, "src": str(PROJECT / "app")}]},
        ["needs exactly one source"],
    ),
    (
        "data dir outside the app",
        {"stack_services": [{**GOOD_SERVICE, "data_dirs": ["../shared"]}]},
        ["stack_services[0] (flask_app).data_dirs must be a list of relative, normalised paths"],
    ),
    (
        "config file outside the data dirs",
        {
            "stack_services": [
                {**GOOD_SERVICE, "data_dirs": ["instance"], "files": [{"dest": "app/run.py", "content": "x"}]}
            ]
        },
        ["files[0].dest must be a relative path inside one of data_dirs"],
    ),
    (
        "release command with a line break",
        {"stack_services": [{**GOOD_SERVICE, "release_command": "flask db upgrade\nrm -rf /"}]},
        ["stack_services[0] (flask_app).release_command must be one line of text"],
    ),
    (
        "exclude pattern that leaves the tree",
        {"stack_services": [{**GOOD_SERVICE, "exclude": ["../secrets"]}]},
        ["stack_services[0] (flask_app).exclude must be a list of glob patterns"],
    ),
    (
        "module with arguments",
        {"stack_services": [{**GOOD_SERVICE, "module": "app:create_app('prod')"}]},
        ["module must be"],
    ),
    (
        "service on nginx's stub_status port",
        {"stack_services": [{**GOOD_SERVICE, "port": 8090, "socket_mode": "tcp"}]},
        ["port 8090 is nginx's stub_status"],
    ),
    ("firewall switch mistyped", {"firewall_enabled": "maybe-ish"}, ["firewall_enabled", "maybe-ish"]),
    (
        "plain HTTP package index",
        {"app_pip_index_url": "http://pypi.example.internal/simple"},
        ["app_pip_index_url", "plain HTTP", "app_pip_allow_http"],
    ),
]


def fingerprint(host: Any) -> str:
    """Names, sizes, modes and contents of everything the roles manage on the host."""
    with host.sudo():
        listing = host.check_output(
            f"find {WATCHED} -xdev \\( -type f -o -type l \\) -printf '%p %s %m %l\\n' 2>/dev/null | sort; "
            f"find {WATCHED} -xdev -type f -exec md5sum {{}} + 2>/dev/null | sort"
        )
    return hashlib.sha256(listing.encode()).hexdigest()


@pytest.fixture(scope="module")
def input_host(host: Any) -> Iterator[str]:
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "unix" or not host.backend.host.endswith("-d13"):
        pytest.skip("the input checks run on the Debian 13 host of the unix scenario")
    yield host.backend.host


@pytest.mark.parametrize(("case", "extra", "fragments"), CASES, ids=[case for case, _, _ in CASES])
def test_bad_input_fails_before_anything_changes(
    host: Any, input_host: str, case: str, extra: dict[str, Any], fragments: list[str]
) -> None:
    before = fingerprint(host)
    run = playbook("site.yml", input_host, extra)
    assert run.returncode != 0, f"{case}: accepted\n{run.stdout[-2000:]}"
    output = run.stdout + run.stderr
    for fragment in fragments:
        assert fragment in output, f"{case}: no {fragment!r} in\n{output[-3000:]}"
    assert "changed=0" in run.stdout, run.stdout[-1500:]
    assert fingerprint(host) == before, f"{case}: the host changed"


@pytest.mark.parametrize("release", [".", "..", "../flask_app", "nonexistent-release", "current"])
def test_a_mistyped_rollback_release_deletes_nothing(
    host: Any, input_host: str, base_url: str, web: requests.Session, release: str
) -> None:
    before = fingerprint(host)
    run = playbook("rollback.yml", input_host, {"rollback_release": release})
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-2000:]
    assert "rollback_release must be" in output or f"no service keeps release {release}" in output, output[-3000:]
    assert "changed=0" in run.stdout, run.stdout[-1500:]
    assert fingerprint(host) == before, f"rollback_release={release!r}: the host changed"
    assert web.get(base_url + "/healthz", timeout=10).status_code == 200


def test_broken_nginx_setting_is_refused_and_the_old_config_keeps_serving(
    host: Any, input_host: str, base_url: str, web: requests.Session, ansible_vars: dict[str, Any]
) -> None:
    site = "/etc/nginx/sites-available/flask_app.conf"
    with host.sudo():
        site_before = host.file(site).md5sum
    run = playbook("site.yml", input_host, {"nginx_server_extra_config": "this_is_not_a_directive on;"}, "-v")
    assert run.returncode != 0
    assert 'unknown directive "this_is_not_a_directive"' in run.stdout + run.stderr
    with host.sudo():
        assert host.file(site).md5sum == site_before
        assert host.run("nginx -t").rc == 0
    assert web.get(base_url + "/healthz", timeout=10).status_code == 200
    # Even verbose, the run never printed the secret key.
    assert ansible_vars["app_secret_key"] not in run.stdout + run.stderr


def test_example_inventory_keeps_secrets_in_vault() -> None:
    inventory = PROJECT / "inventory" / "production"
    vault = inventory / "group_vars" / "all" / "vault.yml"
    assert vault.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;")
    assert "vault_app_secret_key" not in vault.read_text(encoding="utf-8")
    resolved = json.loads(
        subprocess.run(
            [
                "ansible-inventory",
                "-i",
                str(inventory),
                "--vault-password-file",
                str(PROJECT / "vault-password.example"),
                "--host",
                "www1.example.com",
            ],
            capture_output=True,
            text=True,
            check=True,
            # From the inventory's own directory: ansible-inventory also reads
            # group_vars/ next to the working directory (the scenario's, here).
            cwd=inventory,
            # As a user runs it: without the test runner's ANSIBLE_*/MOLECULE_* settings
            # (molecule's inventory variables would otherwise leak in).
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))},
                "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
            },
        ).stdout
    )
    secret = resolved["vault_app_secret_key"]
    assert len(secret) >= 16
    # The plain variable only points into the vault.
    assert resolved["app_secret_key"] == secret or "vault_app_secret_key" in resolved["app_secret_key"]
    assert secret not in (inventory / "group_vars" / "all" / "main.yml").read_text(encoding="utf-8")
