"""Promises of the scale-out stack: balancing, path routing, failover and the uWSGI firewall."""

from __future__ import annotations

import re
import shlex
import time
from collections import Counter
from typing import Any

import requests
from conftest import APPS, WEBS, host_named, private_address
from support import fetch_inside, playbook

PORT = 8080
UNIT = "uwsgi-flask_app"


def _connect(client: Any, target: str, port: int) -> int:
    """Exit status of a TCP connect from `client` to target:port (0 = connected)."""
    code = (
        "import socket, sys\n"
        "try:\n"
        f"    socket.create_connection(({target!r}, {port}), timeout=3).close()\n"
        "except OSError as error:\n"
        "    print(error); sys.exit(1)\n"
    )
    return client.run(f"python3 -c {shlex.quote(code)}").rc


def test_responses_alternate_between_app_hosts(base_url: str) -> None:
    served = Counter(requests.get(base_url + "/healthz", timeout=10).json()["hostname"] for _ in range(20))
    assert set(served) == set(APPS), served
    assert min(served.values()) >= 5, served


def test_api_prefix_reaches_the_second_service(base_url: str) -> None:
    seen = set()
    for _ in range(10):
        data = requests.get(base_url + "/api/info", timeout=10).json()
        assert data["service"] == "api"
        seen.add(data["hostname"])
    assert seen == set(APPS)


def test_page_and_static_files_come_through_the_front_end(base_url: str) -> None:
    page = requests.get(base_url + "/", timeout=10)
    assert page.status_code == 200
    assert 'id="site-header"' in page.text
    css = requests.get(base_url + "/static/css/style.css", timeout=10)
    assert css.status_code == 200
    assert "max-age=" in css.headers["Cache-Control"]


def test_dead_app_server_costs_no_request(base_url: str, apps: dict[str, Any]) -> None:
    victim = apps[APPS[0]]
    victim.check_output(f"systemctl stop {UNIT}")
    try:
        statuses = Counter(requests.get(base_url + "/", timeout=10).status_code for _ in range(100))
        hosts = {requests.get(base_url + "/healthz", timeout=10).json()["hostname"] for _ in range(10)}
    finally:
        victim.check_output(f"systemctl start {UNIT}")
    assert statuses == Counter({200: 100}), statuses
    assert hosts == {APPS[1]}


def _listening(host: Any, port: int) -> set[str]:
    """IPv4 addresses with a listening TCP socket on `port` (from /proc: a minimal Debian has no ss)."""
    code = (
        "import socket, struct\n"
        "for line in open('/proc/net/tcp').readlines()[1:]:\n"
        "    local, state = line.split()[1], line.split()[3]\n"
        "    address, port = local.split(':')\n"
        f"    if state == '0A' and int(port, 16) == {port}:\n"
        "        print(socket.inet_ntoa(struct.pack('<I', int(address, 16))))\n"
    )
    return set(host.check_output(f"python3 -c {shlex.quote(code)}").split())


def test_uwsgi_listens_on_the_private_address_only(apps: dict[str, Any]) -> None:
    for host in apps.values():
        assert _listening(host, PORT) == {private_address(host)}


def test_only_web_hosts_reach_the_uwsgi_port(web: Any, apps: dict[str, Any]) -> None:
    app1, app2 = APPS
    assert _connect(web, app1, PORT) == 0
    assert _connect(web, app2, PORT) == 0
    # An app server is not in the web group: refused, both ways.
    assert _connect(apps[app2], app1, PORT) != 0
    assert _connect(apps[app1], app2, PORT) != 0


def test_firewall_leaves_other_tables_alone(apps: dict[str, Any]) -> None:
    for host in apps.values():
        tables = host.check_output("nft list tables")
        assert "table inet flask_app" in tables
        # Docker's embedded DNS lives in the container's own nat rules: a firewall that
        # flushed the ruleset would have broken name resolution between the hosts.
        assert host.run(f"getent hosts {APPS[1]}").rc == 0


def test_recovered_app_server_takes_traffic_again(base_url: str) -> None:
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while time.monotonic() < deadline and seen != set(APPS):
        seen.add(requests.get(base_url + "/healthz", timeout=10).json()["hostname"])
        time.sleep(0.2)
    assert seen == set(APPS)


def test_unix_socket_across_hosts_is_refused_before_any_change(apps: dict[str, Any]) -> None:
    units_before = {
        name: host.check_output(f"systemctl show -p ActiveEnterTimestamp {UNIT}") for name, host in apps.items()
    }
    result = playbook("site.yml", "all", {"stack_socket_mode": "unix"})
    assert result.returncode != 0
    assert "A unix socket can only be reached by an nginx on the same host" in result.stdout
    # Refused by the up-front checks: no host reached a task that changes it.
    assert re.findall(r"changed=(\d+)", result.stdout) == ["0"] * (len(WEBS) + len(apps))
    units_after = {
        name: host.check_output(f"systemctl show -p ActiveEnterTimestamp {UNIT}") for name, host in apps.items()
    }
    assert units_after == units_before


def _answers(url: str, status: int, seconds: float = 15.0) -> bool:
    """Whether `url` answers `status` on a new connection within `seconds` (bounded): nginx's
    old workers keep the connections they had through a reload."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if requests.get(url, timeout=10, headers={"Connection": "close"}).status_code == status:
            return True
        time.sleep(0.2)
    return False


def test_maintenance_of_one_service_on_every_front_end(base_url: str, apps: dict[str, Any]) -> None:
    """maintenance.yml on a stack whose front ends are not its app servers: both front ends
    answer 503 for the service asked for, the other service serves, and off brings it back."""
    web2 = private_address(host_named(WEBS[1]))
    outsider = apps[APPS[0]]
    on = playbook("maintenance.yml", "all", {"state": "on", "service": "api"})
    try:
        assert on.returncode == 0, on.stdout[-3000:]
        assert _answers(base_url + "/api/info", 503)
        assert requests.get(base_url + "/healthz", timeout=10).status_code == 200
        rc, body = fetch_inside(outsider, f"http://{web2}/api/info")
        assert rc != 0 and "503" in body, body
    finally:
        off = playbook("maintenance.yml", "all", {"state": "off", "service": "api"})
    assert off.returncode == 0, off.stdout[-3000:]
    assert _answers(base_url + "/api/info", 200)
    assert fetch_inside(outsider, f"http://{web2}/api/info")[0] == 0
