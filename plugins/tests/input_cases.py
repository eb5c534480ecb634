"""Wrong inventory values and the message each one must be refused with.

One list for both layers: `make unit` runs every case through site.yml's up-front checks
in-process (plugins/tests/test_input_cases.py, via render.py); the unix scenario runs the
cases of ON_HOST as real `ansible-playbook site.yml` runs against a converged Debian 13
host and checks that nothing on it changed (molecule/common/tests/test_inputs.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]

GOOD_SERVICE = {"name": "flask_app", "src": str(PROJECT / "app"), "port": 8080, "static_dir": "app/static"}
GOOD_SERVICE_GIT = {key: value for key, value in GOOD_SERVICE.items() if key != "src"} | {
    "git": {"repo": "/nonexistent/repo", "version": "main"}
}
ROUTES = [{"path": "/static/", "service": "flask_app", "type": "static"}, {"path": "/", "service": "flask_app"}]

# Sources that app_pip_mode offline must refuse before any host changes: each names
# something only a build, or pip's option parser, on the controller would follow. Written
# under .cache/ (git ignores it, no linter reads it as the repository's own pyproject.toml);
# none of them is ever installed.
HOSTILE_PROJECTS: dict[str, dict[str, str]] = {
    # A `name @ file:///...` requirement: pip would build that directory.
    "file_url": {"requirements.txt": "Flask==3.1.3\nevil @ file:///tmp/flask_app-hostile/evil\n"},
    # A requirements.txt line that is a pip option.
    "index_option": {"requirements.txt": "--index-url https://pypi.example.invalid/simple\nFlask==3.1.3\n"},
    # A [build-system] requires entry that is a pip option: on pip's argv it writes a file.
    "build_log": {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61", "--log=/tmp/flask_app-hostile-build-log"]\n'
        'build-backend = "setuptools.build_meta"\n\n[project]\nname = "build_log"\nversion = "1.0"\n'
        'dependencies = ["Flask>=3.0,<4"]\n'
    },
    # Dependencies known only by running the build backend.
    "dynamic": {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "dynamic"\nversion = "1.0"\ndynamic = ["dependencies"]\n'
    },
}


def offline_service(project: str) -> dict[str, Any]:
    """An offline inventory whose one service is the source HOSTILE_PROJECTS[project]."""
    src = PROJECT / ".cache" / "hostile_projects" / project
    src.mkdir(parents=True, exist_ok=True)
    for name, text in HOSTILE_PROJECTS[project].items():
        (src / name).write_text(text, encoding="utf-8")
    return {
        "app_pip_mode": "offline",
        "stack_services": [{"name": "flask_app", "src": str(src), "port": 8080}],
        "stack_routes": [{"path": "/", "service": "flask_app"}],
    }


CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "port out of range",
        {"stack_services": [{**GOOD_SERVICE, "port": 70000}]},
        ["stack_services[0] (flask_app).port", "70000"],
    ),
    (
        "port not a number",
        {"stack_services": [{**GOOD_SERVICE, "port": "eighty"}]},
        ["argument 'port' is of type str found in 'stack_services'", "eighty"],
    ),
    (
        "unknown socket mode of a service",
        {"stack_services": [{**GOOD_SERVICE, "socket_mode": "udp"}]},
        ["value of socket_mode must be one of: auto, tcp, unix, got: udp found in stack_services"],
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
        ["nginx_tls_mode must be one of: none, provided, self_signed, acme"],
    ),
    (
        "ACME without an e-mail",
        {"nginx_tls_mode": "acme", "nginx_server_name": "www.example.com"},
        ["nginx_tls_mode is acme but nginx_acme_email is empty"],
    ),
    (
        "ACME e-mail that is not one",
        {"nginx_tls_mode": "acme", "nginx_server_name": "www.example.com", "nginx_acme_email": "ops"},
        ["nginx_acme_email must be an e-mail address", "'ops'"],
    ),
    (
        "ACME directory over plain HTTP",
        {
            "nginx_tls_mode": "acme",
            "nginx_server_name": "www.example.com",
            "nginx_acme_email": "ops@example.com",
            "nginx_acme_directory": "http://acme.example.com/directory",
        },
        ["nginx_acme_directory must be an https:// URL", "http://acme.example.com/directory"],
    ),
    (
        "ACME for a wildcard or catch-all name",
        {"nginx_tls_mode": "acme", "nginx_server_name": "*.example.com _", "nginx_acme_email": "ops@example.com"},
        ["nginx_server_name must list DNS names", "got *.example.com _"],
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
        "trusted proxy not a network",
        {"nginx_trusted_proxies": ["lb.example.com"]},
        ["nginx_trusted_proxies must be a list of IP addresses or networks", "lb.example.com"],
    ),
    (
        "HSTS preload without subdomains",
        {"nginx_hsts_preload": True},
        ["nginx_hsts_preload needs nginx_hsts_include_subdomains set to true"],
    ),
    (
        "HSTS preload for less than a year",
        {"nginx_hsts_preload": True, "nginx_hsts_include_subdomains": True, "nginx_hsts_max_age": 86400},
        ["nginx_hsts_preload needs nginx_hsts_max_age >= 31536000 (one year), got 86400"],
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
        ["parameters are mutually exclusive: src|git|artifact found in stack_services"],
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
    # Issue 29: offline, the controller reads what to download from the service's files and
    # never builds or runs them; an entry only a build (or pip's option parser) would follow
    # is refused (the sources: HOSTILE_PROJECTS).
    (
        "offline requirement that is a file URL",
        offline_service("file_url"),
        ["stack_services (flask_app): requirements.txt line 2", "'evil @ file:///tmp/flask_app-hostile/evil'"],
    ),
    (
        "offline requirements option line",
        offline_service("index_option"),
        ["stack_services (flask_app): requirements.txt line 1", "is a pip option"],
    ),
    (
        "offline build requirement that is a pip option",
        offline_service("build_log"),
        ["stack_services (flask_app): pyproject.toml [build-system] requires", "'--log=/tmp/flask_app-hostile"],
    ),
    (
        "offline dependencies only a build knows",
        offline_service("dynamic"),
        ['stack_services (flask_app): pyproject.toml lists "dependencies" in [project] dynamic', "artifact:"],
    ),
]


# The cases the real host runs: one of each layer of checks (argument spec, shape,
# cross-field rule, service, route, the playbook's own checks, the wiring between roles),
# and every check that reads the host (its kernel, Debian release, accounts) or the
# controller (files, git). The rest differ from these only in the rule they hit.
ON_HOST = {
    "port out of range",
    "route to an undefined service",
    "code directory missing",
    "missing extra CA file",
    "threads not a number",
    "backlog above somaxconn",
    "server name with a semicolon",
    "unsupported Debian release",
    "environment value with a newline",
    "service user nginx's",
    "git repository that is an option",
    "service on nginx's stub_status port",
    "nginx exporter without stub_status",
    "firewall switch mistyped",
    "plain HTTP package index",
}
