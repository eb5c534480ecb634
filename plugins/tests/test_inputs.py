"""The input shapes (plugins/filter/inputs.py): each accepts what real inventories hold and
refuses the values that would rewrite a config, escape a directory or run a command."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

PROJECT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((PROJECT / "roles" / "stack" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
SERVICES_SPEC = {key: SPEC["argument_specs"]["main"]["options"][key] for key in ("stack_services", "stack_routes")}


def refusals(inputs: ModuleType, services: Any, routes: Any, mode: str = "tcp") -> list[str]:
    """What a run says, in its order: Ansible checks the stack role's argument spec first (its
    types, choices, required keys), then the rules of inputs.py run."""
    result = ArgumentSpecValidator(SERVICES_SPEC).validate({"stack_services": services, "stack_routes": routes})
    return list(result.error_messages) or inputs.service_errors(services, routes, mode)


@pytest.fixture
def src(tmp_path: Path) -> str:
    (tmp_path / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (tmp_path / "run.py").write_text("app = None\n", encoding="utf-8")
    (tmp_path / "static").mkdir()
    return str(tmp_path)


def service(code_dir: str, **extra: Any) -> dict[str, Any]:
    return {"name": "web", "src": code_dir, "port": 8080, "static_dir": "static", **extra}


ROUTES = [{"path": "/", "service": "web"}, {"path": "/static/", "service": "web", "type": "static"}]

ACCEPTED = [
    ("proxy_url", ""),
    ("proxy_url", "http://proxy.example:3128"),
    ("proxy_url", "http://user:p%40ss@10.0.0.5:8080/"),
    ("proxy_url", "http://[2001:db8::5]:3128"),
    ("no_proxy", ["localhost", ".internal.example", "10.0.0.0/8", "::1"]),
    ("proxy_env", {}),
    ("proxy_env", {"https_proxy": "http://proxy.example:3128", "no_proxy": "localhost,.internal.example,10.0.0.0/8"}),
    ("absolute_path", "/var/log/uwsgi"),
    ("relative_path", "app/static"),
    ("account", "www-data"),
    ("size", "10m"),
    ("size_or_empty", ""),
    ("port", 8080),
    ("port", "8080"),
    ("auto_or_positive", "auto"),
    ("auto_or_positive", 4),
    ("address", "10.0.0.5"),
    ("address", "fd00::1"),
    ("networks", ["10.0.0.0/24", "192.0.2.7", "2001:db8::/32"]),
    ("listen_address", "127.0.0.1:8090"),
    ("listen_address", ""),
    ("server_names", "example.com www.example.com *.example.org"),
    ("server_names", "_"),
    ("headers", {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:"}),
    ("env", {"DATABASE_URL": "postgresql://app@db/app?sslmode=require", "WORKERS": 4}),
    ("url_or_empty", "https://pypi.example.internal/simple"),
    ("auto_or_release", "2026-12-02.1"),
    ("wsgi_module", "pkg.wsgi:app"),
    ("wsgi_module", "pkg:create_app()"),
    ("route_path", "/api/v1/"),
    ("url_path", "/healthz"),
    ("nginx_block", 'location /x/ { return 200 "}"; } # a { comment'),
]

REFUSED = [
    ("proxy_url", 'http://proxy.example:3128";\nAcquire::http::Proxy::x "DIRECT'),
    ("proxy_url", "http://proxy.example:99999"),
    ("proxy_url", "proxy.example:3128"),
    ("proxy_url", "http://proxy.example:3128/path"),
    ("proxy_url", "socks5://proxy.example:1080"),
    ("proxy_env", {"ftp_proxy": "http://proxy.example:3128"}),
    ("proxy_env", {"https_proxy": "proxy.example:3128"}),
    ("proxy_env", {"no_proxy": "localhost\nevil"}),
    ("proxy_env", "http://proxy.example:3128"),
    ("no_proxy", ["localhost,evil"]),
    ("no_proxy", "localhost"),
    ("no_proxy", ['x" "DIRECT']),
    ("absolute_path", "/var/log/uwsgi\nExecStartPre=+/bin/sh"),
    ("absolute_path", "/var/log/../../etc"),
    ("absolute_path", "/"),
    ("absolute_path", "relative/dir"),
    ("absolute_path", "/var/log/uwsgi/"),
    ("relative_path", "../../../../../../etc"),
    ("relative_path", "."),
    ("relative_path", "/etc"),
    ("relative_path", "static/../.."),
    ("account", "www-data\nExecStartPre=+/bin/sh"),
    ("account", "Root"),
    ("size", "1m; autoindex on"),
    ("size", "10m\n"),
    ("port", 0),
    ("port", True),
    ("port", "80\n"),
    ("auto_or_positive", "auto; user root"),
    ("address", "any"),
    ("address", "10.0.0.5\n"),
    ("networks", ["any"]),
    ("networks", ["0/0"]),
    ("networks", ["10"]),
    ("networks", [10]),
    ("networks", ["deadbeef"]),
    ("networks", "10.0.0.0/8"),
    ("listen_address", "0.0.0.0:8090"),
    ("listen_address", "127.0.0.1:8090; allow all"),
    ("server_names", "example.com; root /"),
    ("server_names", "example.com\n"),
    ("headers", {"X-Evil\nadd_header": "x"}),
    ("headers", {"X-A": 'x" always; autoindex on; add_header B "y'}),
    ("headers", {"X-A": "$request_uri"}),
    ("env", {"SECRET_KEY": "chosen-by-the-inventory"}),
    ("env", {"A": "x\nLD_PRELOAD=/tmp/evil.so"}),
    ("env", {"BAD-NAME": "x"}),
    ("url_or_empty", "https://pypi.example/simple --trusted-host evil"),
    ("auto_or_release", "abc123\n"),
    ("auto_or_release", "."),
    ("auto_or_release", "../x"),
    ("wsgi_module", "run:app\n"),
    ("wsgi_module", "pkg:create_app('prod')"),
    ("wsgi_module", "pkg:create_app();import os"),
    ("route_path", "/a/ { autoindex on; } location /b/"),
    ("route_path", "/../"),
    ("route_path", "/a"),
    ("url_path", "/healthz\n"),
    ("nginx_block", "} server { listen 81; "),
    ("nginx_block", "location / {"),
]


@pytest.mark.parametrize(("shape", "value"), ACCEPTED, ids=[f"{s}:{v!r}" for s, v in ACCEPTED])
def test_real_values_are_accepted(inputs: ModuleType, shape: str, value: Any) -> None:
    assert inputs.input_errors({"some_variable": [shape, value]}) == []


@pytest.mark.parametrize(("shape", "value"), REFUSED, ids=[f"{s}:{v!r}" for s, v in REFUSED])
def test_hostile_values_are_refused_with_the_variable_and_the_value(inputs: ModuleType, shape: str, value: Any) -> None:
    [message] = inputs.input_errors({"some_variable": [shape, value]})
    assert message.startswith("some_variable must be ")
    assert repr(value)[:100].rstrip("'") in message


def test_an_unknown_shape_is_a_bug_not_a_pass(inputs: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        inputs.input_errors({"x": ["no_such_shape", "value"]})


def test_systemd_quote_escapes_what_systemd_unescapes(inputs: ModuleType) -> None:
    assert inputs.systemd_quote('a "b" \\ `c` $D') == '"a \\"b\\" \\\\ \\`c\\` \\$D"'
    assert inputs.systemd_quote(4) == '"4"'


def test_valid_services_have_no_errors(inputs: ModuleType, src: str) -> None:
    assert refusals(inputs, [service(src)], ROUTES, "tcp") == []


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"port": 70000}, "port must be a port number 1-65535"),
        ({"port": "8080"}, "port must be a port number 1-65535, got '8080'"),
        ({"port": True}, "port must be a port number"),
        ({"name": "Bad-Name"}, "name must be [a-z][a-z0-9_]*"),
        ({"socket_mode": "udp"}, "value of socket_mode must be one of: auto, tcp, unix, got: udp"),
        ({"src": "/does/not/exist"}, "src must be a directory"),
        ({"module": "run"}, "module must be 'module:callable' or 'module:factory()'"),
        ({"static_dir": "nope"}, "static_dir 'nope' is not a directory"),
        ({"static_dir": "../../../../../../etc"}, "static_dir must be a relative, normalised path"),
        ({"health_path": "healthz"}, "health_path must be a URL path"),
        ({"smoke_paths": ["/ok", "/x\n"]}, "smoke_paths must be a list of URL paths"),
        ({"env": ["A=1"]}, "argument 'env' is of type list"),
        ({"env": {"SECRET_KEY": "x" * 20}}, "env must be a mapping of NAME"),
        ({"user": "root"}, "user must not be root"),
        ({"user": "deploy\nExecStartPre=+/bin/sh"}, "user must be a user or group name"),
        ({"colour": "blue"}, "stack_services.colour. Supported parameters include"),
        ({"static_dir": None}, "static_dir is null: leave it out"),
    ],
)
def test_bad_service_is_named_in_the_error(
    inputs: ModuleType, src: str, override: dict[str, Any], fragment: str
) -> None:
    errors = refusals(inputs, [service(src, **override)], ROUTES, "tcp")
    assert any(fragment in error and "stack_services" in error for error in errors), errors


def test_static_dir_may_not_leave_the_code_through_a_symlink(inputs: ModuleType, src: str) -> None:
    (Path(src) / "escape").symlink_to("/etc")
    errors = refusals(inputs, [service(src, static_dir="escape")], ROUTES, "tcp")
    assert errors == [f"stack_services[0] (web).static_dir 'escape' is not a directory inside {src}."]


def test_two_services_on_one_port_or_user_are_refused(inputs: ModuleType, src: str) -> None:
    errors = refusals(inputs, [service(src), service(src, name="api", user="web")], ROUTES, "tcp")
    assert "stack_services: port 8080 is used by 2 services; each needs its own." in errors
    assert "stack_services: user 'web' is used by 2 services; each needs its own." in errors


def test_unix_services_may_share_the_default_port(inputs: ModuleType, src: str) -> None:
    assert refusals(inputs, [service(src), service(src, name="api")], ROUTES, "unix") == []


def test_route_to_undefined_service_is_refused(inputs: ModuleType, src: str) -> None:
    errors = refusals(inputs, [service(src)], [{"path": "/api/", "service": "api"}], "tcp")
    assert errors == ["stack_routes[0].service 'api' is not defined in stack_services."]


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ({"path": "api", "service": "web"}, "path must be a URL path prefix that starts and ends with /"),
        ({"path": "/a/ { autoindex on; }/", "service": "web"}, "stack_routes[0].path must be"),
        ({"path": "/x/", "service": "web", "type": "cgi"}, "value of type must be one of: app, static, got: cgi"),
        ({"path": "/x/", "service": "web", "colour": "red"}, "stack_routes.colour. Supported parameters include"),
    ],
)
def test_bad_route_is_named_in_the_error(inputs: ModuleType, src: str, route: dict[str, Any], fragment: str) -> None:
    errors = refusals(inputs, [service(src)], [route], "tcp")
    assert any(fragment in error for error in errors), errors


def test_static_route_needs_a_static_dir(inputs: ModuleType, src: str) -> None:
    plain = {"name": "web", "src": src, "port": 8080}
    errors = refusals(inputs, [plain], [{"path": "/s/", "service": "web", "type": "static"}], "tcp")
    assert errors == ["stack_routes[0] is a static route but service 'web' has no static_dir."]


def test_empty_service_list_is_refused(inputs: ModuleType) -> None:
    assert refusals(inputs, [], ROUTES, "tcp") == ["stack_services must be a non-empty list of services."]


@pytest.mark.parametrize(
    ("user", "home", "refused"),
    [
        ("web", None, False),  # a new account
        ("web", "/srv/flask_app/web", False),  # the one this kit made
        ("www-data", "/var/www", True),  # nginx's account
        ("deploy", "/home/deploy", True),  # the SSH login user
        ("root", "/root", True),
    ],
)
def test_a_service_never_takes_over_an_account_of_the_host(
    inputs: ModuleType, user: str, home: str | None, refused: bool
) -> None:
    passwd = {"root": ["x", "0", "0", "root", "/root", "/bin/bash"]}
    if home:
        passwd[user] = ["x", "999", "999", "", home, "/usr/sbin/nologin"]
    services = [{"name": "web", "user": user, "dir": "/srv/flask_app/web"}]
    assert inputs.foreign_accounts(services, passwd) == ([f"{user} (service web)"] if refused else [])


@pytest.mark.parametrize(
    ("data_dirs", "fragment"),
    [
        (["instance", "instance/uploads"], "'instance/uploads' is inside 'instance'"),
        ([".venv"], "is a name the release needs"),
        (["instance", "instance"], "lists a directory twice"),
        (["../shared"], "data_dirs must be a list of relative, normalised paths"),
        ("instance", "data_dirs must be a list"),
    ],
)
def test_data_dirs_are_separate_places_inside_the_app(
    inputs: ModuleType, src: str, data_dirs: Any, fragment: str
) -> None:
    errors = refusals(inputs, [service(src, data_dirs=data_dirs)], ROUTES, "tcp")
    assert any(fragment in error for error in errors), errors


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"artifact": "/nonexistent/notes-1.0-py3-none-any.whl"}, "artifact must be a wheel or an sdist"),
        ({"artifact": "WHEEL", "static_dir": "static"}, "static_dir needs a source tree"),
        ({"artifact": "WHEEL", "data_dirs": ["uploads"]}, "data_dirs of an installed artifact can only be [instance]"),
        ({"artifact": "WHEEL", "src": "SRC"}, "parameters are mutually exclusive: src|git|artifact"),
        ({}, "any of the following are missing: src, git, artifact found in stack_services"),
    ],
)
def test_an_artifact_source_is_checked(inputs: ModuleType, src: str, extra: dict[str, Any], fragment: str) -> None:
    wheel = Path(src) / "notes-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    declared = {
        "name": "web",
        "port": 8080,
        **{k: v.replace("WHEEL", str(wheel)) for k, v in extra.items() if isinstance(v, str)},
    }
    declared |= {k: v for k, v in extra.items() if not isinstance(v, str)}
    if declared.get("src") == "SRC":
        declared["src"] = src
    errors = refusals(inputs, [declared], [{"path": "/", "service": "web"}], "tcp")
    assert any(fragment in error for error in errors), errors


def test_relative_controller_paths_start_at_the_inventory_directory(inputs: ModuleType, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory" / "production"
    (inventory / "files").mkdir(parents=True)
    (inventory / "files" / "proxy-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    resolved = inputs.controller_path("files/proxy-ca.pem", str(inventory))
    assert resolved == str(inventory / "files" / "proxy-ca.pem")
    assert inputs.input_errors({"app_pip_extra_ca_cert": ["controller_file", resolved]}) == []
    assert inputs.controller_path("/etc/ssl/ca.pem", str(inventory)) == "/etc/ssl/ca.pem"
    assert inputs.controller_path("", str(inventory)) == ""
    # The message names where it looked.
    missing = inputs.controller_path("files/missing.pem", str(inventory))
    assert str(inventory / "files" / "missing.pem") in " ".join(
        inputs.input_errors({"app_pip_extra_ca_cert": ["controller_file", missing]})
    )


def test_service_paths_start_at_the_inventory_directory(inputs: ModuleType) -> None:
    services = [{"name": "shop", "src": "../shop", "files": [{"src": "files/shop.ini", "dest": "shop.ini"}]}]
    resolved = inputs.controller_paths(services, "/srv/ops/inventory/production")
    assert resolved[0]["src"] == "/srv/ops/inventory/shop"
    assert resolved[0]["files"][0]["src"] == "/srv/ops/inventory/production/files/shop.ini"
    assert services[0]["src"] == "../shop"  # the inventory's own value is left as it was


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"state": "removed"}, "value of state must be one of: present, absent, got: removed found in stack_services"),
        ({"state": "absent", "purge": "yes"}, "stack_services[0] (web).purge must be true or false, got 'yes'."),
        ({"purge": True}, "stack_services[0] (web).purge: true only applies with state: absent"),
        ({"state": "absent", "user": "root"}, "stack_services[0] (web).user must not be root"),
        ({"state": "absent", "port": "8080\n"}, "stack_services[0] (web).port must be a port number"),
    ],
)
def test_bad_state_or_purge_is_named_in_the_error(
    inputs: ModuleType, src: str, override: dict[str, Any], fragment: str
) -> None:
    errors = refusals(inputs, [service(src, **override), service(src, name="api", port=8081)], ROUTES, "tcp")
    assert any(fragment in error for error in errors), errors


def test_an_absent_service_needs_only_its_name(inputs: ModuleType, src: str) -> None:
    """Its code may be gone from the controller: no source, no port, nothing else is asked for."""
    services = [service(src), {"name": "old", "state": "absent", "purge": True}]
    assert refusals(inputs, services, ROUTES, "tcp") == []


def test_an_absent_service_keeps_its_port_name_and_account(inputs: ModuleType, src: str) -> None:
    # Its unit still runs while the first play starts the others: a new service on its port
    # would fail to bind. Free once the entry is deleted.
    gone = {"name": "old", "state": "absent", "port": 8080, "user": "web", "src": "/nowhere"}
    errors = refusals(inputs, [service(src), gone], ROUTES, "tcp")
    assert errors == [
        "stack_services: port 8080 is used by 2 services; each needs its own.",
        "stack_services: user 'web' is used by 2 services; each needs its own.",
    ]


def test_a_route_to_an_absent_service_is_refused(inputs: ModuleType, src: str) -> None:
    services = [service(src), {"name": "old", "state": "absent"}]
    errors = refusals(inputs, services, [*ROUTES, {"path": "/old/", "service": "old"}], "tcp")
    assert errors == [
        "stack_routes[2].service 'old' is state: absent: remove this route ('/old/') with the service,"
        " or point it at a present one."
    ]


def test_a_refusal_never_shows_the_credentials_of_a_url(inputs: ModuleType, src: str) -> None:
    bad_repo = {"repo": "https://deploy:s3cr3t-token@git.example/app.git;id", "version": "main"}
    git_service = {key: value for key, value in service(src, git=bad_repo).items() if key not in ("src", "static_dir")}
    errors = refusals(inputs, [git_service], [{"path": "/", "service": "web"}])
    proxy = inputs.shape_error("stack_https_proxy", "proxy_url", "http://user:pr0xy-pass@proxy.example:3128/\n")
    shown = " ".join([*errors, proxy or ""])
    assert "git.repo must be a URL" in shown and "https://***@git.example/app.git;id" in shown
    assert "stack_https_proxy must be" in shown
    assert "s3cr3t-token" not in shown and "pr0xy-pass" not in shown


def test_a_refusal_never_shows_a_secret(inputs: ModuleType) -> None:
    [key] = inputs.variable_errors({"nginx_tls_certificate_key_content": "s3cr3t-not-a-key"})
    assert key.startswith("nginx_tls_certificate_key_content must be PEM text") and "s3cr3t" not in key
    env = inputs.shape_error("stack_services[0] (web).secret_env", "secret_env", {"TOKEN": "s3cr3t\nX=1"})
    assert env and "['TOKEN']" in env and "s3cr3t" not in env


def test_a_variable_without_a_rule_is_a_bug_not_a_pass(inputs: ModuleType) -> None:
    with pytest.raises(ValueError, match="no rule for nginx_colour"):
        inputs.variable_errors({"nginx_colour": "blue"})
