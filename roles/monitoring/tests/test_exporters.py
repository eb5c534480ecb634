"""The monitoring role's promises (meta/argument_specs.yml): each exporter that is turned on
listens on the host's private address and its own port (Debian's unit reads the arguments
from /etc/default/<package>), the nginx exporter runs on web hosts only and reads nginx's
stub_status, the role publishes the ports it opened for the firewall, and an exporter off
loopback is refused unless monitoring_allowed_sources says who may scrape it.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

EXPORTER = "monitoring/templates/etc/default/exporter.j2"
SCRAPERS = {"monitoring_allowed_sources": ["10.0.0.9"]}


def converge(**inventory: Any) -> tuple[render.Play, dict[str, list[str]]]:
    """app1 (web and app, private address 10.0.0.11) with the inventory's values: site.yml's
    checks, then {package: the arguments of its /etc/default file}."""
    variables = host_variables("tcp")
    variables.update(inventory)
    play = render.check(variables)
    rendered = render.render(play)
    files = {}
    for index, exporter in enumerate(play.value("{{ monitoring_exporters }}")):
        [args] = [line for line in rendered[f"{EXPORTER}#{index}"].splitlines() if line.startswith("ARGS=")]
        [value] = shlex.split(args.removeprefix("ARGS="))  # one quoted value, as systemd reads it
        files[exporter["name"]] = value.split()  # the unit's $ARGS, split at whitespace
    return play, files


def test_no_exporter_runs_unless_the_inventory_asks() -> None:
    play, files = converge()
    assert files == {}
    assert play.value("{{ monitoring_exporter_ports }}") == []


def test_each_exporter_listens_on_the_private_address_and_its_own_port() -> None:
    play, files = converge(
        monitoring_node_exporter=True,
        monitoring_nginx_exporter=True,
        monitoring_node_exporter_port=9200,
        monitoring_nginx_exporter_port=9213,
        **SCRAPERS,
    )
    stub_status = play.value("{{ nginx_stub_status_url }}")
    assert stub_status.startswith("http://127.0.0.1:")
    assert files == {
        "prometheus-node-exporter": ["--web.listen-address=10.0.0.11:9200"],
        "prometheus-nginx-exporter": ["--web.listen-address=10.0.0.11:9213", f"--nginx.scrape-uri={stub_status}"],
    }
    assert play.value("{{ monitoring_exporter_ports }}") == [9200, 9213]


def test_an_ipv6_listen_address_is_written_in_brackets() -> None:
    _, files = converge(monitoring_node_exporter=True, monitoring_listen_address="fd00::11", **SCRAPERS)
    assert files == {"prometheus-node-exporter": ["--web.listen-address=[fd00::11]:9100"]}


def test_the_nginx_exporter_runs_on_web_hosts_only() -> None:
    """app1 as an app server behind another front end: no nginx here to read."""
    groups = {"all": ["app1", "web1"], "web": ["web1"], "app": ["app1"], "stack_cluster_default": ["web1"]}
    play, files = converge(
        group_names=["app"], groups=groups, monitoring_node_exporter=True, monitoring_nginx_exporter=True, **SCRAPERS
    )
    assert list(files) == ["prometheus-node-exporter"]
    assert play.value("{{ monitoring_exporter_ports }}") == [9100]


@pytest.mark.parametrize("exporter", ["monitoring_node_exporter", "monitoring_nginx_exporter"])
def test_an_exporter_off_loopback_needs_the_hosts_that_may_scrape_it(exporter: str) -> None:
    with pytest.raises(render.Refused, match="monitoring_allowed_sources is empty"):
        converge(**{exporter: True})
    _, files = converge(**{exporter: True}, monitoring_listen_address="127.0.0.1")
    assert len(files) == 1
