"""The shapes an inventory value may take, checked before any host changes.

Every role's tasks/validate.yml names its variables and their shapes in one table:

    {{ {'nginx_client_max_body_size': ['size', nginx_client_max_body_size], ...}
       | flask_app_input_errors }}

and gets one message per value of the wrong shape, naming the variable and showing the
value (newlines and quotes visible). A shape is matched in full (`re.fullmatch`, never
`$`, which lets a trailing newline through); addresses and networks are parsed, not
matched against a character class. docs/security.md lists the shapes.

A service and a route are checked in two steps. Ansible checks them against the stack
role's argument spec first (types, defaults, choices, required keys, one source: the one
place they are declared, read by schema.py). What a spec cannot say stays here, in one
table keyed by the spec's names (SERVICE_RULES: `"port": "service_port"`), and in the rules
that relate several keys or read the controller (`_check_service`, `route_errors`).
docs/routing.md's tables of the keys are generated from both (.ci/service_docs.py).

The templates quote what they can as a second line of defence (`flask_app_systemd_quote`).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import posixpath
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _sibling(name: str) -> Any:
    """Another file of plugins/filter: Ansible loads each one on its own, not as a package."""
    module_name = f"flask_app_filter_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, Path(__file__).with_name(f"{name}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    return sys.modules[module_name]


schema = _sibling("schema")

# Characters a path may hold. Leaves out space, quotes, `;`, `#`, `$`, `%`, `@`, `(`,
# `{`: the path lands unquoted in systemd units, uWSGI ini files (where `%(`, `$(` and
# `@(` expand) and nginx and logrotate configs.
PATH_CHARS = r"[A-Za-z0-9._+/-]"
SERVICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")
# useradd's rule (Debian NAME_REGEX), at most 32 characters.
ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Ansible's rule for group names.
GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
SIZE = re.compile(r"[0-9]{1,12}[kKmMgG]?")
DIGITS = re.compile(r"[0-9]{1,10}")
PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]{0,127}")
# Host names for nginx server_name: letters, digits, . - _ and * wildcards.
SERVER_NAME = re.compile(r"[A-Za-z0-9*_.-]{1,253}")
# The header names real sites send: a subset of RFC 7230's token.
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
# Printable ASCII without " \ $ (nginx quoting and variables); whitespace runs,
# line breaks of a YAML block included, become one space in the template.
HEADER_VALUE = re.compile(r"[\x20-\x7e\t\r\n]{0,4096}")
HEADER_VALUE_FORBIDDEN = set('"\\$')
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# The variables the kit itself writes into every service's environment.
RESERVED_ENV = ("SECRET_KEY", "APP_SERVICE_NAME")
URL = re.compile(r"https?://[A-Za-z0-9._~:/?&=%+@-]{1,2048}")
# An ACME directory: https only (the account key and the orders travel through it).
HTTPS_URL = re.compile(r"https://[A-Za-z0-9._~:/?&=%+@-]{1,2048}")
# An e-mail address as ACME CAs take it: a local part and a dotted domain.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
# A proxy: scheme, optional user[:password]@, a host name or [IPv6], optional
# port, nothing after the root path (it lands in apt.conf and the environment).
PROXY_URL = re.compile(
    r"https?://(?:[A-Za-z0-9._~%-]+(?::[A-Za-z0-9._~%-]*)?@)?"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?/?"
)
# A no_proxy host or domain (a leading dot: every name under it).
NO_PROXY_HOST = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*")
URL_PATH = re.compile(r"/[A-Za-z0-9._~/%?=&+-]{0,255}")
ROUTE_PATH = re.compile(r"/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/)*")
# module:callable, or module:factory() for an application factory (uWSGI calls it).
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(?:\(\))?")
# Glob patterns of paths to leave out of a release: path characters and * ? [ ].
GLOB = re.compile(r"[A-Za-z0-9._+/*?\[\]-]{1,200}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Names a release needs for itself (its virtualenv link and its id file).
RELEASE_NAMES = (".venv", "RELEASE")
# What a service installs from, in this order (stack role: requirements or project).
INSTALL_FILES = ("requirements.txt", "pyproject.toml")
# A repository the controller can reach: a URL (https, ssh, git, file), user@host:path, or an
# absolute path; never an option (a leading -).
GIT_REPO = re.compile(
    r"(?:(?:https|ssh|git|file)://[A-Za-z0-9._~:/?&=%+@-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+|/[A-Za-z0-9._+/-]*)"
)
# A branch, tag or commit: git's ref characters, never an option, no .. (a range).
GIT_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")
# What a Python build leaves for pip to install: a wheel or an sdist.
ARTIFACT_SUFFIXES = (".whl", ".tar.gz", ".zip")


def _integer(value: Any) -> int | None:
    """An int, or a string of digits as `-e name=8080` gives it; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and DIGITS.fullmatch(value):
        return int(value)
    return None


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def is_absolute_path(value: Any) -> bool:
    """/a/b: normalised, not the root, only PATH_CHARS, no `.` or `..` component."""
    return (
        isinstance(value, str)
        and re.fullmatch(f"/{PATH_CHARS}*", value) is not None
        and value != "/"
        and posixpath.normpath(value) == value
    )


def is_relative_path(value: Any) -> bool:
    """a/b: normalised, inside its base (no `..`, not `.`, not absolute), only PATH_CHARS."""
    return (
        isinstance(value, str)
        and re.fullmatch(f"{PATH_CHARS}+", value) is not None
        and not value.startswith("/")
        and posixpath.normpath(value) == value
        and value not in (".", "..")
        and not value.startswith("../")
    )


def is_address(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_network(value: Any) -> bool:
    """An address or a network in CIDR notation, as Python's ipaddress parses it."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def is_network_list(value: Any) -> bool:
    return isinstance(value, list) and all(is_network(item) for item in value)


def is_proxy_url(value: Any) -> bool:
    """Empty (no proxy) or http(s)://[user[:password]@]host[:port][/]."""
    if value == "":
        return True
    match = PROXY_URL.fullmatch(value) if isinstance(value, str) else None
    return match is not None and (match.group(1) is None or 1 <= int(match.group(1)) <= 65535)


def is_no_proxy_list(value: Any) -> bool:
    """Host names, .domains, IP addresses and networks reached without the proxy."""
    return isinstance(value, list) and all(
        isinstance(item, str) and (NO_PROXY_HOST.fullmatch(item) is not None or is_network(item)) for item in value
    )


def is_proxy_env(value: Any) -> bool:
    """The proxy as environment variables: http_proxy and https_proxy URLs, no_proxy a
    comma-separated list (the stack role's stack_proxy_env), each key optional."""
    if not isinstance(value, dict) or not set(value) <= {"http_proxy", "https_proxy", "no_proxy"}:
        return False
    no_proxy = value.get("no_proxy", "")
    return (
        all(is_proxy_url(value.get(key, "")) for key in ("http_proxy", "https_proxy"))
        and isinstance(no_proxy, str)
        and is_no_proxy_list([item for item in no_proxy.split(",") if item])
    )


def is_listen_address(value: Any) -> bool:
    """IPV4:PORT on a given address (not 0.0.0.0), or empty (off)."""
    if value == "":
        return True
    if not isinstance(value, str) or value.count(":") != 1:
        return False
    address, port = value.split(":")
    if not is_address(address) or ipaddress.ip_address(address).version != 4:
        return False
    number = _integer(port)
    return not ipaddress.ip_address(address).is_unspecified and number is not None and 1 <= number <= 65535


def is_server_names(value: Any) -> bool:
    return isinstance(value, str) and bool(value.split(" ")) and all(SERVER_NAME.fullmatch(n) for n in value.split(" "))


def is_header_value(value: Any) -> bool:
    return (
        isinstance(value, str)
        and HEADER_VALUE.fullmatch(value) is not None
        and not HEADER_VALUE_FORBIDDEN & set(value)
        and value.strip() != ""
    )


def is_headers(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and HEADER_NAME.fullmatch(name) and is_header_value(text) for name, text in value.items()
    )


def is_env_value(value: Any) -> bool:
    """A scalar without line breaks or other control characters (a tab is fine)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    return CONTROL.search(str(value).replace("\t", " ")) is None


def is_env(value: Any) -> bool:
    """NAME: value pairs for an environment file; the kit's own names are not theirs to set."""
    return isinstance(value, dict) and all(
        isinstance(name, str) and ENV_NAME.fullmatch(name) and name not in RESERVED_ENV and is_env_value(text)
        for name, text in value.items()
    )


def is_secret_env(value: Any) -> bool:
    """A service's own secrets: like `env`, and SECRET_KEY may be set on purpose."""
    return isinstance(value, dict) and is_env({k: v for k, v in value.items() if k != "SECRET_KEY"})


def is_line(value: Any) -> bool:
    """One line of text: no line break or other control character."""
    return isinstance(value, str) and CONTROL.search(value) is None


def is_controller_file(value: Any) -> bool:
    """A readable file on the controller, or empty (not used)."""
    return value == "" or (is_line(value) and os.path.isfile(value))


def is_pem(value: Any) -> bool:
    """PEM text (a certificate or key, e.g. from Vault), or empty."""
    return value == "" or (isinstance(value, str) and value.lstrip().startswith("-----BEGIN "))


def is_nginx_block(value: Any) -> bool:
    """nginx lines that stay inside the server block: every `{` closed, no `}` too many."""
    if not isinstance(value, str):
        return False
    depth = 0
    quote = ""
    escaped = comment = False
    for char in value:
        if comment:
            comment = char != "\n"
        elif escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def _integer_between(low: int, high: int | None = None) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        number = _integer(value)
        return number is not None and number >= low and (high is None or number <= high)

    return check


# name: (what the message says a value must be, the check)
SHAPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "absolute_path": (
        "an absolute, normalised path of letters, digits and . _ + - / (not /, no . or .. parts)",
        is_absolute_path,
    ),
    "relative_path": (
        "a relative, normalised path of letters, digits and . _ + - / that stays inside its directory",
        is_relative_path,
    ),
    "service_name": ("[a-z][a-z0-9_]* (at most 31 characters)", _matches(SERVICE_NAME)),
    "account": ("a user or group name: [a-z_][a-z0-9_-]* (at most 32 characters)", _matches(ACCOUNT)),
    "group_name": ("an inventory group name: [A-Za-z_][A-Za-z0-9_]*", _matches(GROUP_NAME)),
    "label": ("1-64 letters, digits, . _ - (starting with a letter or digit)", _matches(RELEASE)),
    "auto_or_release": (
        "auto or 1-64 letters, digits, . _ - (starting with a letter or digit)",
        lambda value: value == "auto" or _matches(RELEASE)(value),
    ),
    "file_name": ("1-64 letters, digits, _ . - (starting with a letter, digit or _)", _matches(FILE_NAME)),
    "size": ("an nginx size: digits with an optional k, m or g (e.g. 10m)", _matches(SIZE)),
    "size_or_empty": (
        "an nginx size (e.g. 64k) or empty",
        lambda value: value == "" or _matches(SIZE)(value),
    ),
    "port": ("a port number 1-65535", _integer_between(1, 65535)),
    "count": ("an integer >= 0", _integer_between(0)),
    "positive": ("an integer >= 1", _integer_between(1)),
    "seconds": ("a number of seconds >= 1", _integer_between(1)),
    "auto_or_positive": (
        "auto or an integer >= 1",
        lambda value: value == "auto" or _integer_between(1)(value),
    ),
    "packages": (
        "a list of Debian package names",
        lambda value: isinstance(value, list) and all(_matches(PACKAGE)(p) for p in value),
    ),
    "address": ("an IP address", is_address),
    "networks": ("a list of IP addresses or networks (CIDR, e.g. 10.0.0.0/24)", is_network_list),
    "listen_address": (
        "IPV4-ADDRESS:PORT on a given address (e.g. 127.0.0.1:8090, not 0.0.0.0) or empty",
        is_listen_address,
    ),
    "server_names": (
        "host names (letters, digits, . - _ *) separated by single spaces",
        is_server_names,
    ),
    "headers": (
        'a mapping of header names (letters, digits, -) to printable ASCII values without " \\ $',
        is_headers,
    ),
    "env": (
        "a mapping of NAME ([A-Za-z_][A-Za-z0-9_]*, not " + " or ".join(RESERVED_ENV) + ") to one-line values",
        is_env,
    ),
    "url_or_empty": (
        "an http(s) URL of letters, digits and ._~:/?&=%+@- or empty",
        lambda value: value == "" or _matches(URL)(value),
    ),
    "proxy_url": ("http(s)://[user[:password]@]host[:port] (nothing after the host) or empty", is_proxy_url),
    "proxy_env": (
        "a mapping of http_proxy and https_proxy (http(s)://[user[:password]@]host[:port]) and no_proxy "
        "(comma-separated host names, .domains, addresses or networks), each optional",
        is_proxy_env,
    ),
    "https_url": ("an https:// URL of letters, digits and ._~:/?&=%+@-", _matches(HTTPS_URL)),
    "email_or_empty": (
        "an e-mail address (name@domain.tld) or empty",
        lambda value: value == "" or _matches(EMAIL)(value),
    ),
    "no_proxy": (
        "a list of host names, .domains, IP addresses or networks (CIDR)",
        is_no_proxy_list,
    ),
    "line": ("one line of text (no line breaks or control characters)", is_line),
    "controller_file": (
        "a file on the controller (a relative path starts at the inventory directory), or empty",
        is_controller_file,
    ),
    "pem": ("PEM text (-----BEGIN ...) or empty", is_pem),
    # The same for a private key: its message never shows it (SECRET_SHAPES).
    "secret_pem": ("PEM text (-----BEGIN ...) or empty", is_pem),
    "nginx_block": ("nginx lines whose braces balance inside the server block", is_nginx_block),
    "cpu_name": ("a CPU name: 1-32 letters, digits and _", _matches(re.compile(r"[A-Za-z0-9_]{1,32}"))),
    "relative_paths": (
        "a list of relative, normalised paths of letters, digits and . _ + - / (no .. parts)",
        lambda value: isinstance(value, list) and all(is_relative_path(p) for p in value),
    ),
    "globs": (
        "a list of glob patterns (letters, digits, . _ + - / * ? [ ], no .. parts)",
        lambda value: (
            isinstance(value, list)
            and all(_matches(GLOB)(p) and ".." not in p.split("/") and not p.startswith("/") for p in value)
        ),
    ),
    "table_name": ("[a-z][a-z0-9_]* (at most 31 characters)", _matches(SERVICE_NAME)),
    "wsgi_module": (
        "'module:callable' or 'module:factory()', e.g. run:app, pkg.wsgi:app or pkg:create_app()",
        _matches(MODULE),
    ),
    "url_path": ("a URL path starting with / (letters, digits and ._~/%?=&+-)", _matches(URL_PATH)),
    "route_path": (
        "a URL path prefix that starts and ends with / (letters, digits and ._~-, no . or .. parts)",
        lambda value: _matches(ROUTE_PATH)(value) and len(value) <= 256,
    ),
    "url_paths": (
        "a list of URL paths starting with / (letters, digits and ._~/%?=&+-)",
        lambda value: isinstance(value, list) and all(_matches(URL_PATH)(path) for path in value),
    ),
    # A number, not a string of digits: ports are compared as numbers (one port, one service).
    "service_port": (
        "a port number 1-65535",
        lambda value: isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535,
    ),
    "controller_dir": ("a directory on the controller", lambda value: is_line(value) and os.path.isdir(value)),
    "controller_file_given": ("a file on the controller", lambda value: is_line(value) and os.path.isfile(value)),
    "artifact_file": (
        f"a wheel or an sdist ({', '.join(ARTIFACT_SUFFIXES)}) on the controller",
        lambda value: is_line(value) and os.path.isfile(value) and value.endswith(ARTIFACT_SUFFIXES),
    ),
    "git_repo": (
        "a URL (https://, ssh://, git://, file://), user@host:path or an absolute path on the controller",
        _matches(GIT_REPO),
    ),
    "git_version": (
        "a branch, tag or commit",
        lambda value: (
            isinstance(value, str | int)
            and not isinstance(value, bool)
            and _matches(GIT_VERSION)(str(value))
            and ".." not in str(value)
        ),
    ),
    # A real boolean: the spec would take the string "no" as false, but the code reads it as given.
    "boolean": ("true or false", lambda value: isinstance(value, bool)),
    "secret_env": (
        "a mapping of NAME ([A-Za-z_][A-Za-z0-9_]*, not APP_SERVICE_NAME) to one-line values",
        is_secret_env,
    ),
}
# Shapes of secrets: a message names what is wrong, never the value (a mapping: its names).
SECRET_SHAPES = {"secret_env", "secret_pem"}

# Role variables whose shape their role's argument spec cannot state (a range, a pattern, a
# file on the controller), by name; the spec declares the type and choices. A role's
# tasks/validate.yml hands over the values of its own (`flask_app_ruled_variables`,
# `flask_app_variable_errors`).
VARIABLE_RULES: dict[str, str] = {
    "nginx_packages": "packages",
    "nginx_user": "account",
    "nginx_worker_processes": "auto_or_positive",
    "nginx_worker_connections": "positive",
    "nginx_worker_rlimit_nofile": "positive",
    "nginx_site_name": "file_name",
    "nginx_server_name": "server_names",
    "nginx_http_port": "port",
    "nginx_https_port": "port",
    "nginx_log_dir": "absolute_path",
    "nginx_log_retention_days": "positive",
    "nginx_static_root": "absolute_path",
    "nginx_static_max_age": "count",
    "nginx_static_versioned_max_age": "count",
    "nginx_uwsgi_read_timeout": "seconds",
    "nginx_upstream_max_fails": "count",
    "nginx_upstream_fail_timeout": "seconds",
    "nginx_client_max_body_size": "size",
    "nginx_security_headers": "headers",
    # The file as the role reads it (a relative path starts at the inventory directory).
    "nginx_tls_certificate": "controller_file",
    "nginx_tls_certificate_key": "controller_file",
    "nginx_tls_certificate_content": "pem",
    "nginx_tls_certificate_key_content": "secret_pem",
    "nginx_tls_self_signed_days": "positive",
    "nginx_acme_email": "email_or_empty",
    "nginx_acme_directory": "https_url",
    "nginx_hsts_max_age": "count",
    "nginx_server_extra_config": "nginx_block",
    "nginx_access_log_buffer": "size_or_empty",
    "nginx_request_id_trusted_sources": "networks",
    "nginx_proxy_env": "proxy_env",
    "nginx_trusted_proxies": "networks",
    "nginx_stub_status_listen": "listen_address",
    "nginx_maintenance_page": "controller_file",
    "nginx_maintenance_retry_after": "seconds",
    "nginx_maintenance_allowed": "networks",
}


def ruled_variables(prefix: str) -> list[str]:
    """The variables starting with `prefix` (a role's, e.g. nginx_) that have a shape rule."""
    return [name for name in VARIABLE_RULES if name.startswith(prefix)]


def variable_errors(values: dict[str, Any]) -> list[str]:
    """{variable: value} -> one message per value that breaks its rule in VARIABLE_RULES."""
    unknown = sorted(set(values) - set(VARIABLE_RULES))
    if unknown:
        raise ValueError(f"flask_app_variable_errors: no rule for {', '.join(unknown)}")
    return [error for name, value in values.items() if (error := shape_error(name, VARIABLE_RULES[name], value))]


# The user and password of a URL (a git repository's token, a proxy's password).
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _show(value: Any) -> str:
    """The value as the user should see it: quotes and line breaks visible, long ones cut,
    the credentials of a URL in it left out."""
    shown = URL_CREDENTIALS.sub("***@", repr(value))
    return shown if len(shown) <= 200 else shown[:200] + "...'"


def shape_error(name: str, shape: str, value: Any) -> str | None:
    """The message for one value of the wrong shape, or None."""
    if shape not in SHAPES:
        raise ValueError(f"flask_app_input_errors: {name} names an unknown shape {shape!r}")
    description, check = SHAPES[shape]
    if check(value):
        return None
    if shape in SECRET_SHAPES:
        shown = f"the names {list(value)}" if isinstance(value, dict) else f"a {type(value).__name__}"
        return f"{name} must be {description}; got {shown} (values not shown)."
    return f"{name} must be {description}, got {_show(value)}."


def input_errors(table: dict[str, list[Any]]) -> list[str]:
    """{variable: [shape, value]} -> one message per variable whose value has the wrong shape."""
    errors = []
    for name, (shape, value) in table.items():
        error = shape_error(name, shape, value)
        if error:
            errors.append(error)
    return errors


# A service's keys, types, defaults, choices and required keys: the stack role's argument
# spec (schema.py reads it), which Ansible checks before this code runs.
SERVICE_KEYS = set(schema.service_keys())
ROUTE_KEYS = set(schema.route_keys())

# What the argument spec cannot say about a service's keys: the shape of each, keyed by the
# spec's own names (`git.repo` inside `git`, `files[].dest` in every entry of `files`).
# Checked for the keys a service gives; the spec's defaults fit their shapes.
SERVICE_RULES: dict[str, str] = {
    "name": "service_name",
    "purge": "boolean",
    "src": "controller_dir",
    "git.repo": "git_repo",
    "git.version": "git_version",
    "artifact": "artifact_file",
    "module": "wsgi_module",
    "port": "service_port",
    "static_dir": "relative_path",
    "health_path": "url_path",
    "smoke_paths": "url_paths",
    "user": "account",
    "env": "env",
    "secret_env": "secret_env",
    "data_dirs": "relative_paths",
    "files[].dest": "relative_path",
    "files[].src": "controller_file_given",
    "exclude": "globs",
    "release_command": "line",
}
# The same for a route.
ROUTE_RULES: dict[str, str] = {"path": "route_path"}
# An absent service is found on the hosts by its name and its user (the account a purge
# removes); its port, when given, stays guarded by the firewall until its unit is gone. Its
# other keys are not used, so not checked: the code may be gone.
ABSENT_RULES = ("name", "purge", "user", "port")


def _given(entry: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    """(the key as a message names it, its value) for each place a rule key is given."""
    if "[]." in key:
        outer, inner = key.split("[].")
        values = entry.get(outer)
        if not isinstance(values, list):
            return []
        return [(f"{outer}[{i}].{inner}", e[inner]) for i, e in enumerate(values) if isinstance(e, dict) and inner in e]
    if "." in key:
        outer, inner = key.split(".")
        value = entry.get(outer)
        return [(key, value[inner])] if isinstance(value, dict) and inner in value else []
    return [(key, entry[key])] if key in entry else []


def rule_errors(where: str, entry: dict[str, Any], rules: dict[str, str], keys: tuple[str, ...] = ()) -> list[str]:
    """One message per given key of `entry` whose value breaks its rule (only `keys`, when named)."""
    return [
        error
        for key, shape in rules.items()
        if not keys or key in keys
        for name, value in _given(entry, key)
        if (error := shape_error(f"{where}.{name}", shape, value))
    ]


def _inside(base: str, relative: str) -> bool:
    """relative, with every symlink followed, stays inside base."""
    real_base = os.path.realpath(base)
    return os.path.commonpath([real_base, os.path.realpath(os.path.join(base, relative))]) == real_base


def _data_dir_errors(where: str, data_dirs: list[str]) -> list[str]:
    errors = [
        f"{where}.data_dirs: {d!r} is a name the release needs ({', '.join(RELEASE_NAMES)})."
        for d in data_dirs
        if d.split("/")[0] in RELEASE_NAMES
    ]
    errors.extend(
        f"{where}.data_dirs: {inner!r} is inside {outer!r}; list each data directory once."
        for outer in data_dirs
        for inner in data_dirs
        if inner != outer and inner.startswith(outer + "/")
    )
    if len(set(data_dirs)) != len(data_dirs):
        errors.append(f"{where}.data_dirs lists a directory twice: {data_dirs!r}.")
    return errors


def _file_errors(where: str, files: list[Any], data_dirs: list[str]) -> list[str]:
    """Each file goes inside a data directory. Contents are never shown: they may be secrets."""
    return [
        f"{where}.files[{number}].dest must be a relative path inside one of data_dirs"
        f" ({', '.join(data_dirs) or 'none'}), got {_show(entry['dest'])}."
        for number, entry in enumerate(files)
        if isinstance(entry, dict)
        and is_relative_path(entry.get("dest"))
        and not any(str(entry["dest"]).startswith(d + "/") for d in data_dirs)
    ]


def _source_errors(where: str, service: dict[str, Any]) -> list[str]:
    """What the source must hold: what to install, the static_dir; an artifact has neither tree."""
    errors = []
    src, static_dir = service.get("src"), service.get("static_dir")
    if "artifact" in service:
        if static_dir:
            errors.append(
                f"{where}.static_dir needs a source tree (src or git); an artifact has none on the controller."
            )
        data_dirs = service.get("data_dirs", [])
        if isinstance(data_dirs, list) and any(d != "instance" for d in data_dirs):
            errors.append(
                f"{where}.data_dirs of an installed artifact can only be [instance] (Flask's instance folder,"
                " <virtualenv>/var/<package>-instance)."
            )
    elif "src" in service and SHAPES["controller_dir"][1](src):
        if not any(os.path.isfile(os.path.join(src, f)) for f in INSTALL_FILES):
            errors.append(f"{where}.src {src} has neither {' nor '.join(INSTALL_FILES)}: nothing says what to install.")
        if is_relative_path(static_dir) and not (
            os.path.isdir(os.path.join(src, static_dir)) and _inside(src, static_dir)
        ):
            errors.append(f"{where}.static_dir {static_dir!r} is not a directory inside {src}.")
    return errors


def _check_service(index: int, service: Any) -> list[str]:
    """The rules of one service that its argument spec cannot state (that ran first)."""
    where = f"stack_services[{index}]"
    if not isinstance(service, dict):
        return [f"{where} must be a mapping, got {type(service).__name__}."]
    name = service.get("name")
    if _matches(SERVICE_NAME)(name):
        where = f"stack_services[{index}] ({name})"
    absent = service.get("state", "present") == "absent"
    # The spec reads null as "not given", the code as the value: leave the key out instead.
    errors = [
        f"{where}.{key} is null: leave it out to get its default."
        for key, value in service.items()
        if value is None and key in SERVICE_KEYS
    ]
    errors += rule_errors(where, service, SERVICE_RULES, ABSENT_RULES if absent else ())
    if service.get("purge") is True and not absent:
        errors.append(
            f"{where}.purge: true only applies with state: absent (it removes the service's data and"
            f" account); got state {_show(service.get('state', 'present'))}."
        )
    if service.get("user") == "root":
        errors.append(f"{where}.user must not be root: a service runs as an account of its own.")
    if absent:
        return errors
    data_dirs = service.get("data_dirs", [])
    if isinstance(data_dirs, list) and all(is_relative_path(d) for d in data_dirs):
        errors.extend(_data_dir_errors(where, data_dirs))
        if isinstance(service.get("files"), list):
            errors.extend(_file_errors(where, service["files"], data_dirs))
    return errors + _source_errors(where, service)


def service_errors(services: Any, routes: Any, default_mode: str = "tcp") -> list[str]:
    """Every problem with stack_services and stack_routes that the stack role's argument spec
    (types, choices, required keys, one source) cannot state, as messages naming the variable.

    default_mode is stack_socket_mode, whose choices the stack role's argument spec checks.
    """
    if not isinstance(services, list) or not services:
        return ["stack_services must be a non-empty list of services."]
    errors: list[str] = []
    for index, service in enumerate(services):
        errors.extend(_check_service(index, service))
    valid = [s for s in services if isinstance(s, dict)]
    for key in ("name", "port", "user"):
        seen: dict[Any, int] = {}
        for service in valid:
            if key == "port" and service.get("socket_mode", default_mode) != "tcp":
                continue
            # An absent service's port, name and account stay taken while its entry names
            # them: its unit runs until the removal play, after the others have started.
            value = service.get("user", service.get("name")) if key == "user" else service.get(key)
            if isinstance(value, str | int):
                seen[value] = seen.get(value, 0) + 1
        errors.extend(
            f"stack_services: {key} {value!r} is used by {count} services; each needs its own."
            for value, count in seen.items()
            if count > 1
        )
    errors.extend(route_errors(routes, {s.get("name"): s for s in valid if isinstance(s.get("name"), str)}))
    return errors


def route_errors(routes: Any, services: dict[str, dict[str, Any]]) -> list[str]:
    if not isinstance(routes, list) or not routes:
        return ["stack_routes must be a non-empty list of routes."]
    errors: list[str] = []
    paths: set[str] = set()
    for index, route in enumerate(routes):
        where = f"stack_routes[{index}]"
        if not isinstance(route, dict):
            errors.append(f"{where} must be a mapping, got {type(route).__name__}.")
            continue
        shape_errors = rule_errors(where, route, ROUTE_RULES)
        errors.extend(shape_errors)
        path = route.get("path")
        if not shape_errors and path in paths:
            errors.append(f"{where}.path {path!r} is routed twice.")
        elif not shape_errors:
            paths.add(path)
        service = services.get(route.get("service")) if isinstance(route.get("service"), str) else None
        if service is None:
            errors.append(f"{where}.service {_show(route.get('service'))} is not defined in stack_services.")
        elif service.get("state") == "absent":
            # Refused rather than dropped: the path would fall through to another route.
            errors.append(
                f"{where}.service {service['name']!r} is state: absent: remove this route ({_show(route.get('path'))})"
                " with the service, or point it at a present one."
            )
        elif route.get("type", "app") == "static" and not service.get("static_dir"):
            errors.append(f"{where} is a static route but service {service['name']!r} has no static_dir.")
    return errors


def foreign_accounts(services: list[dict[str, Any]], passwd: dict[str, list[str]]) -> list[str]:
    """Service users that exist on the host as someone else's account, as 'user (service)'.

    passwd is getent's answer (name: [password, uid, gid, gecos, home, shell]). An account
    is the service's own when its home is the service directory (app/tasks/setup.yml).
    """
    return [
        f"{service['user']} (service {service['name']})"
        for service in services
        if service["user"] == "root" or (service["user"] in passwd and passwd[service["user"]][4:5] != [service["dir"]])
    ]


def systemd_quote(value: Any) -> str:
    """A value for a systemd EnvironmentFile=, in double quotes with \\ " ` $ escaped."""
    text = str(value)
    return '"' + re.sub(r'([\\"`$])', r"\\\1", text) + '"'


def controller_path(value: Any, base: str) -> Any:
    """A controller file named in the inventory: a relative path is relative to the inventory
    directory (where group_vars sit), not to the working directory or a role's files/."""
    if not isinstance(value, str) or value == "" or value.startswith("/"):
        return value
    return os.path.normpath(os.path.join(base, value))


def controller_paths(services: Any, base: str) -> Any:
    """stack_services with every controller path (src, artifact, files[].src) made absolute."""
    if not isinstance(services, list):
        return services
    resolved = []
    for service in services:
        if isinstance(service, dict):
            service = {
                **service,
                **{key: controller_path(service[key], base) for key in ("src", "artifact") if key in service},
            }
            if isinstance(service.get("files"), list):
                service["files"] = [
                    {**entry, "src": controller_path(entry["src"], base)}
                    if isinstance(entry, dict) and "src" in entry
                    else entry
                    for entry in service["files"]
                ]
        resolved.append(service)
    return resolved


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_controller_path": controller_path,
            "flask_app_controller_paths": controller_paths,
            "flask_app_input_errors": input_errors,
            "flask_app_ruled_variables": ruled_variables,
            "flask_app_variable_errors": variable_errors,
            "flask_app_service_errors": service_errors,
            "flask_app_foreign_accounts": foreign_accounts,
            "flask_app_systemd_quote": systemd_quote,
        }
