"""Production-like hosts: SSH as a sudo user, a minimal Debian, and a proxy as the only way out."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import testinfra
from conftest import APPS, WEB
from support import playbook

PROXY = "flask-app-cluster-proxy"
RECORDS = "/var/lib/flask_app/monitoring"
NETWORK = "flask-app-cluster"
NETWORK_NAMES = "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}"
SSH_HOSTS = (WEB, APPS[0])
MINIMAL = APPS[1]


def _proxy() -> Any:
    return testinfra.get_host(f"ansible://{PROXY}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def test_ssh_hosts_were_converged_as_a_sudo_user(web: Any, apps: dict[str, Any]) -> None:
    hosts = {WEB: web, **apps}
    for name in SSH_HOSTS:
        host = hosts[name]
        assert host.ansible.get_variables()["ansible_user"] == "deploy"
        journal = host.run("journalctl --no-pager -q --output=cat _COMM=sshd + _COMM=sshd-session + _COMM=sudo")
        assert "Accepted publickey for deploy" in journal.stdout, (name, journal.stdout[-2000:])
        # Every change went through sudo as deploy, none as a root login.
        escalations = re.findall(r"deploy : .*USER=root", journal.stdout)
        assert len(escalations) > 10, (name, journal.stdout[-2000:])
        assert "Accepted publickey for root" not in journal.stdout


def test_minimal_host_keeps_only_what_the_roles_need(apps: dict[str, Any]) -> None:
    host = apps[MINIMAL]
    installed = set(host.check_output("dpkg-query --show --showformat='${Package}\\n'").split())
    # What the roles installed because they use it...
    assert {"python3-apt", "dbus", "ca-certificates", "uwsgi-core", "nftables", "logrotate"} <= installed
    # ... and the host is still the minimal one: no sudo, no iproute2.
    assert not {"sudo", "iproute2"} & installed


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def test_app_servers_have_no_way_out_but_the_proxy(apps: dict[str, Any]) -> None:
    # Docker forwards nothing out of an internal network.
    assert _docker("network", "inspect", "--format", "{{.Internal}}", NETWORK) == "true"
    for name, host in apps.items():
        networks = _docker("inspect", "--format", NETWORK_NAMES, name)
        assert networks.split() == [NETWORK], (name, networks)
        conf = host.file("/etc/apt/apt.conf.d/80flask_app-proxy").content_string
        assert 'Acquire::http::Proxy "http://10.213.80.5:8888";' in conf


def test_apt_and_pip_went_through_the_proxy(apps: dict[str, Any]) -> None:
    log = _proxy().check_output("cat /var/log/tinyproxy/tinyproxy.log")
    for name, host in apps.items():
        address = host.ansible.get_variables()["stack_private_address"]
        requests = re.findall(rf"Connect \(file descriptor (\d+)\): {re.escape(address)}\b", log)
        assert requests, name
    # apt fetched Debian packages over HTTP, pip reached the package index over CONNECT.
    assert re.search(r"Request \(file descriptor \d+\): GET http://[^ ]+/debian/pool/", log)
    assert re.search(r"Request \(file descriptor \d+\): CONNECT (pypi\.org|files\.pythonhosted\.org):443", log)


def _installed(host: Any, package: str) -> bool:
    return host.run(f"dpkg-query --show --showformat='${{db:Status-Status}}' {package}").stdout == "installed"


def test_monitoring_removes_only_the_exporters_it_installed(apps: dict[str, Any]) -> None:
    own, theirs = apps[MINIMAL], apps[APPS[0]]
    # app1 had the nginx exporter before the first converge (prepare.yml): still there, not recorded.
    assert _installed(theirs, "prometheus-nginx-exporter")
    assert not theirs.file(f"{RECORDS}/prometheus-nginx-exporter.installed").exists
    assert own.file(f"{RECORDS}/prometheus-node-exporter.installed").exists
    # site.yml converges whole stacks: every host, the monitoring role only.
    off = playbook("site.yml", "all", {"monitoring_node_exporter": False}, "--tags", "monitoring")
    try:
        assert off.returncode == 0, off.stdout[-2000:]
        assert not _installed(own, "prometheus-node-exporter")
        assert not own.file(f"{RECORDS}/prometheus-node-exporter.installed").exists
        # Turned off everywhere: app1's own nginx exporter is still not this role's to remove.
        assert _installed(theirs, "prometheus-nginx-exporter")
    finally:
        back = playbook("site.yml", "all", {}, "--tags", "monitoring,firewall")
    assert back.returncode == 0, back.stdout[-2000:]
    assert _installed(own, "prometheus-node-exporter")
