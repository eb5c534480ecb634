"""No input can rewrite a config: every input, tried with a corpus of hostile values.

For every option of every role's meta/argument_specs.yml, and every key of a service and
a route, each value of the corpus is put into an otherwise good inventory. site.yml's
up-front checks (plugins/tests/render.py runs them as Ansible does) must either refuse
it with a message naming the variable, or every template of the roles must render to
the same directives as with the good value (parsed by each file's own rules:
crossplane for nginx, systemd's for units and environment files). Two hosts are tried:
TCP without TLS, and a unix socket with TLS, exporters and an IP allow list.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import render
import structure

HOSTILE_SUFFIXES = [
    ";",
    "{",
    "}",
    '"',
    "'",
    "#",
    "\n",
    "\r",
    "\nInjected=1",
    ";\n    autoindex on",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "/../../../../etc",
    " x",
    "\u00e9",
]
HOSTILE_WHOLE = [".", "..", "../../../../etc", " ", "x" * 5000, "\u00fcn\u00efcode"]

# nginx lines placed in the server block by design (docs/security.md): nginx -t checks
# them; the check here is that they cannot leave the block.
RAW_CONFIG = {"nginx_server_extra_config"}

# Good values of the optional keys of a service, tried like every other input.
SERVICE_EXAMPLES: dict[str, Any] = {
    "user": "flask_app",
    "smoke_paths": ["/"],
    "env": {"MODE": "x"},
    "secret_env": {"API_TOKEN": "token-1234"},
    "data_dirs": ["instance"],
    "exclude": ["tests"],
    "release_command": "flask --app app routes",
    "state": "present",
    "purge": False,
}

# Good values for inputs whose default is empty, so a suffix has something to follow.
GOOD_EXAMPLES: dict[str, Any] = {
    "stack_http_proxy": "http://proxy.example:3128",
    "stack_https_proxy": "http://user:secret@proxy.example:3128",
    "stack_no_proxy": ["localhost", ".internal.example", "10.0.0.0/8"],
    "packages_proxy_env": {"http_proxy": "http://proxy.example:3128"},
    "app_proxy_env": {"http_proxy": "http://proxy.example:3128"},
    "nginx_proxy_env": {"https_proxy": "http://proxy.example:3128", "no_proxy": "localhost,10.0.0.0/8"},
    "app_secret_env": {"API_TOKEN": "token-1234"},
    "uwsgi_ip_address_allow": ["10.0.0.0/24"],
    "nginx_request_id_trusted_sources": ["127.0.0.1"],
    "nginx_trusted_proxies": ["10.0.0.0/24"],
    "monitoring_allowed_sources": ["10.0.0.9"],
    "firewall_uwsgi_allowed_sources": ["10.0.0.21"],
    "firewall_monitoring_allowed_sources": ["10.0.0.9"],
    "nginx_server_extra_config": "location = /ping { return 204; }",
}

# Both behind a proxy: the apt proxy file is written only then.
PROXY = {"stack_http_proxy": "http://proxy.example:3128", "stack_no_proxy": ["localhost"]}
HOSTS = {
    "tcp": {"stack_socket_mode": "tcp", **PROXY},
    "unix-tls": {
        **PROXY,
        "stack_socket_mode": "unix",
        "nginx_tls_mode": "self_signed",
        "monitoring_node_exporter": True,
        "monitoring_nginx_exporter": True,
        "monitoring_allowed_sources": ["10.0.0.9"],
        "uwsgi_ip_address_allow": ["10.0.0.0/24"],
        "app_secret_env": {"API_TOKEN": "token-1234"},
    },
}


def host_variables(kind: str) -> dict[str, Any]:
    variables = render.role_defaults()
    # What the stack role reads for the host's Debian release (13, as in the facts below).
    variables.update(render.trusted(render.load_yaml(render.ROLES / "stack" / "vars" / "Debian-13.yml")))
    variables.update(
        {
            "inventory_hostname": "app1",
            "group_names": ["web", "app"],
            "groups": {"all": ["app1"], "web": ["app1"], "app": ["app1"]},
            "playbook_dir": str(render.PROJECT / "playbooks"),
            "ansible_check_mode": False,
            "ansible_facts": {
                "distribution": "Debian",
                "distribution_major_version": "13",
                "distribution_version": "13.2",
                "default_ipv4": {"address": "10.0.0.11"},
                "architecture": "x86_64",
                "all_ipv6_addresses": [],
                "processor_vcpus": 2,
                "getent_passwd": {
                    "root": ["x", "0", "0", "root", "/root", "/bin/bash"],
                    "www-data": ["x", "33", "33", "www-data", "/var/www", "/usr/sbin/nologin"],
                    "deploy": ["x", "1000", "1000", "", "/home/deploy", "/bin/bash"],
                },
            },
            "registered": {
                "uwsgi_host_limits": {"stdout_lines": ["2", "4096"]},
                "stack_dpkg_query": {"stdout_lines": []},
            },
            "app_secret_key": "a-test-secret-key-of-some-length",
            **copy.deepcopy(HOSTS[kind]),
        }
    )
    variables["hostvars"] = {"app1": variables}
    return variables


def structures(play: render.Play) -> dict[str, list[str]]:
    return {
        name: structure.PARSERS[render.TEMPLATES[name.split("#")[0]][0]](text)
        for name, text in render.render(play).items()
    }


def good_value(name: str, play: render.Play) -> Any:
    if name in GOOD_EXAMPLES:
        return copy.deepcopy(GOOD_EXAMPLES[name])
    return copy.deepcopy(play.value(play.variables[name]))


def hostile_variants(good: Any) -> Iterator[tuple[str, Any]]:
    """(label, value) pairs: the corpus put where a string of this input goes."""
    if isinstance(good, bool):
        yield "not a boolean", "maybe-ish"
        return
    if isinstance(good, int):
        yield "number with a suffix", f"{good};"
        yield "number with a newline", f"{good}\n"
        return
    if isinstance(good, list):
        first = str(good[0]) if good else "item"
        for suffix in HOSTILE_SUFFIXES:
            yield f"element + {suffix!r}", [first + suffix, *good[1:]]
        for whole in HOSTILE_WHOLE[:3]:
            yield f"element {whole!r}", [whole]
        yield "not a list", first
        return
    if isinstance(good, dict):
        key, value = next(iter(good.items()))
        for suffix in HOSTILE_SUFFIXES:
            yield f"key + {suffix!r}", {**good, f"{key}{suffix}": value}
            yield f"value + {suffix!r}", {**good, key: f"{value}{suffix}"}
        yield "SECRET_KEY as a key", {**good, "SECRET_KEY": "chosen-by-the-inventory"}
        return
    for suffix in HOSTILE_SUFFIXES:
        yield f"+ {suffix!r}", f"{good}{suffix}"
    for whole in HOSTILE_WHOLE:
        yield f"{whole[:12]!r}", whole


def cases() -> Iterator[tuple[str, str, list[str], Any]]:
    """(host kind, variable, path inside it, hostile value) for every input."""
    for kind in HOSTS:
        play = render.Play(host_variables(kind))
        for role in render.ROLE_NAMES:
            for name in render.argument_spec(role):
                if name in ("stack_services", "stack_routes"):
                    continue
                for label, value in hostile_variants(good_value(name, play)):
                    yield kind, name, [label], value
        services = play.value(play.variables["stack_services"])
        for key, good in {**services[0], **SERVICE_EXAMPLES}.items():
            for label, value in hostile_variants(good):
                yield kind, "stack_services", [key, label], value
        for key, good in play.value(play.variables["stack_routes"])[1].items():
            for label, value in hostile_variants(good):
                yield kind, "stack_routes", [key, label], value


def with_value(variables: dict[str, Any], name: str, path: list[str], value: Any) -> dict[str, Any]:
    if name == "stack_services":
        services = render.Play(variables).value(variables["stack_services"])
        services[0] = {**services[0], path[0]: value}
        value = services
    elif name == "stack_routes":
        routes = render.Play(variables).value(variables["stack_routes"])
        routes[1] = {**routes[1], path[0]: value}
        value = routes
    changed = {**variables, name: value}
    changed["hostvars"] = {"app1": changed}
    return changed


GOOD: dict[tuple[str, ...], dict[str, list[str]]] = {}
# What each host tried, for the summary at the end of the run (conftest.py).
TALLY: dict[str, str] = {}


def good_structures(kind: str, name: str = "", path: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What the templates render to with the good value of this input (its example, or the host's)."""
    key = (kind, name, *path)
    if key not in GOOD:
        variables = host_variables(kind)
        if name:
            play = render.Play(host_variables(kind))
            if name == "stack_services":
                good = SERVICE_EXAMPLES.get(path[0])
                variables = with_value(variables, name, list(path), good) if good is not None else variables
            elif name in GOOD_EXAMPLES:
                variables = with_value(variables, name, [], good_value(name, play))
        GOOD[key] = structures(render.check(variables))
    return GOOD[key]


def test_the_good_hosts_pass_and_render_parsable_files() -> None:
    for kind in HOSTS:
        for name, found in good_structures(kind).items():
            assert found and not found[0].startswith("unparsable"), (kind, name, found)


@pytest.mark.parametrize("kind", list(HOSTS))
def test_every_hostile_value_is_refused_by_name_or_renders_harmlessly(kind: str) -> None:
    problems = []
    tried = refused = 0
    for case_kind, name, path, value in cases():
        if case_kind != kind:
            continue
        tried += 1
        variables = with_value(host_variables(kind), name, path, value)
        try:
            play = render.check(variables)
        except render.Refused as refusal:
            refused += 1
            if name not in str(refusal):
                problems.append(f"{name} {path} {value!r:.60}: refused without naming it: {refusal}")
            continue
        if name in RAW_CONFIG:
            continue
        good = good_structures(kind, name, tuple(path[:1]) if name == "stack_services" else ())
        for template, found in structures(play).items():
            if found != good[template]:
                changed = sorted(set(found) ^ set(good[template]))[:4] or "the order"
                problems.append(f"{name} {path} {value!r:.60}: accepted and changed {template}: {changed}")
    TALLY[kind] = f"{tried} (input, value) pairs tried, {refused} refused, {tried - refused} accepted and harmless"
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"


@pytest.mark.parametrize("extra", ["} server { listen 81;", "location /x/ {", "# {\n}"])
def test_raw_nginx_lines_cannot_leave_the_server_block(extra: str) -> None:
    with pytest.raises(render.Refused, match="nginx_server_extra_config"):
        render.check({**host_variables("tcp"), "nginx_server_extra_config": extra})


def test_a_choice_is_refused_by_the_argument_spec_naming_the_variable() -> None:
    # stack_socket_mode's choices live in roles/stack/meta/argument_specs.yml only.
    with pytest.raises(render.Refused, match=r"stack_socket_mode.*auto, tcp, unix"):
        render.check({**host_variables("tcp"), "stack_socket_mode": "fifo"})
