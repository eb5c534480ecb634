"""The firewall role's promises (meta/argument_specs.yml): on an app server only the web group
and loopback reach the uWSGI TCP ports, only the monitoring hosts the exporter ports, everyone
else gets a TCP reset; every other port is left to the host's own policy, and the role replaces
its own nftables table and no other. The rules are rendered as site.yml writes them on app1, an
app server behind the front end web1, and a connection is walked through them as nft does:
the first rule that matches decides.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

RULES = "firewall/templates/etc/flask_app/firewall.nft.j2"
APP, WEB = "app1", "web1"
WEB_ADDRESS = "10.0.0.5"
PORT = 8080  # the service's port in host_variables' inventory
STRANGER = "10.0.0.99"

RULE = re.compile(
    r"(?:(?P<family>ip6?) saddr \{ (?P<sources>[^}]*) \} )?"
    r"tcp dport \{ (?P<ports>[^}]*) \} (?P<verdict>accept|reject with tcp reset)"
)
# Lines of the input chain that decide nothing about a connection.
NOT_RULES = re.compile(r"(#.*|\}|type filter hook input priority filter; policy accept;)")


def app_server(web_address: str = WEB_ADDRESS, **inventory: Any) -> str:
    """/etc/flask_app/firewall.nft on app1; web1 is the web group's one host."""
    variables = host_variables("tcp")
    # web1 is in app1's stack (the stack role's group_by of stack_cluster `default`).
    groups = {"all": [APP, WEB], "web": [WEB], "app": [APP], "stack_cluster_default": [WEB]}
    variables.update({"group_names": ["app"], "groups": groups, **inventory})
    variables["hostvars"] = {APP: variables, WEB: {"stack_host_address": web_address}}
    return render.render(render.check(variables))[f"{RULES}#0"]


def verdict(ruleset: str, source: str, port: int) -> str:
    """What the table's input chain does with a TCP connection from `source` to `port`."""
    address = ipaddress.ip_address(source)
    chain = ruleset.split("chain input {", 1)[1]
    for line in filter(None, (line.strip() for line in chain.splitlines())):
        if line == 'iif "lo" accept':
            if address.is_loopback:
                return "accept"
            continue
        rule = RULE.fullmatch(line)
        assert rule or NOT_RULES.fullmatch(line), f"a rule this test cannot read: {line!r}"
        if not rule or str(port) not in rule["ports"].split(", "):
            continue
        if rule["family"]:
            if (rule["family"] == "ip6") != (address.version == 6):
                continue
            if not any(address in ipaddress.ip_network(s, strict=False) for s in rule["sources"].split(", ")):
                continue
        return "accept" if rule["verdict"] == "accept" else "reset"
    return "the host's policy"


def test_only_the_web_group_and_loopback_reach_the_uwsgi_port() -> None:
    rules = app_server()
    assert verdict(rules, WEB_ADDRESS, PORT) == "accept"
    assert verdict(rules, "127.0.0.1", PORT) == "accept"
    assert verdict(rules, STRANGER, PORT) == "reset"
    assert verdict(rules, "fd00::99", PORT) == "reset"


def test_every_other_port_is_left_to_the_hosts_policy() -> None:
    rules = app_server()
    assert verdict(rules, STRANGER, 22) == "the host's policy"
    assert verdict(rules, STRANGER, 443) == "the host's policy"


def test_an_ipv6_front_end_is_let_in_by_an_ip6_rule() -> None:
    rules = app_server(web_address="fd00::5")
    assert verdict(rules, "fd00::5", PORT) == "accept"
    assert verdict(rules, "fd00::6", PORT) == "reset"
    assert verdict(rules, WEB_ADDRESS, PORT) == "reset"


def test_the_allowed_sources_replace_the_web_group() -> None:
    rules = app_server(firewall_uwsgi_allowed_sources=["192.0.2.0/24"])
    assert verdict(rules, "192.0.2.44", PORT) == "accept"
    assert verdict(rules, WEB_ADDRESS, PORT) == "reset"


def test_only_the_monitoring_hosts_reach_the_exporter_ports() -> None:
    rules = app_server(monitoring_node_exporter=True, monitoring_allowed_sources=["10.0.0.9"])
    assert verdict(rules, "10.0.0.9", 9100) == "accept"
    assert verdict(rules, WEB_ADDRESS, 9100) == "reset"
    assert verdict(rules, "10.0.0.9", PORT) == "reset"


def test_a_unix_socket_app_server_leaves_every_port_to_the_hosts_policy() -> None:
    """A unix socket is for an nginx on the same host: app1 is the whole stack."""
    variables = host_variables("tcp")
    variables["stack_socket_mode"] = "unix"
    rules = render.render(render.check(variables))[f"{RULES}#0"]
    for port in (PORT, 9100, 22):
        assert verdict(rules, STRANGER, port) == "the host's policy"


@pytest.mark.parametrize("table", ["flask_app", "edge_guard"])
def test_the_role_replaces_its_own_table_and_no_other(table: str) -> None:
    statements = [
        line.split("{")[0].strip()
        for line in app_server(firewall_table=table).splitlines()
        if re.match(r"(table|delete|flush|add|create|destroy)\b", line)
    ]
    assert statements == [f"table inet {table}", f"delete table inet {table}", f"table inet {table}"]


@pytest.mark.skipif(not shutil.which("nft"), reason="nft (nftables) is not installed on this controller")
def test_the_rules_pass_the_tasks_own_nft_check(tmp_path: Path) -> None:
    """The task writes the file only if `nft -c` accepts it (it needs root, as on the host)."""
    [task] = [
        task
        for task in render.load_yaml(render.ROLES / "firewall" / "tasks" / "main.yml")
        if task.get("ansible.builtin.template", {}).get("src") == "etc/flask_app/firewall.nft.j2"
    ]
    rules = tmp_path / "firewall.nft"
    rules.write_text(
        app_server(web_address="fd00::5", monitoring_node_exporter=True, monitoring_allowed_sources=["10.0.0.9"]),
        encoding="utf-8",
    )
    check = [str(rules) if word == "%s" else word for word in task["ansible.builtin.template"]["validate"].split()]
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    if result.returncode and "Operation not permitted" in result.stderr:
        pytest.skip("nft -c needs root (CAP_NET_ADMIN) on this controller")
    assert result.returncode == 0, result.stderr
