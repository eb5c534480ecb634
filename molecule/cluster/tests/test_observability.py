"""Across hosts: one request's id on the front end and on exactly the app server that served it;
exporters only for the monitoring host; status.yml reports and fails by name."""

from __future__ import annotations

import re
import shlex
import time
from typing import Any

import pytest
import requests
from conftest import APPS, WEBS, private_address
from support import fetch_inside, playbook, record

ACCESS_LOG = "/var/log/nginx/flask_app.access.log"
UNIT = "uwsgi-flask_app"


def _grep(host: Any, path: str, needle: str) -> list[str]:
    result = host.run(f"grep -F -- {shlex.quote(needle)} {path}")
    return result.stdout.splitlines()


def test_request_id_is_on_the_web_host_and_exactly_the_app_host_that_served_it(
    base_url: str, web: Any, apps: dict[str, Any]
) -> None:
    addresses = {private_address(host): name for name, host in apps.items()}
    served_by = set()
    for _ in range(6):
        response = requests.get(base_url + "/api/info", timeout=10)
        request_id = response.headers["X-Request-ID"]
        deadline = time.monotonic() + 10
        while not (front := _grep(web, ACCESS_LOG, f"rid={request_id}")) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(front) == 1, front
        upstream = re.search(r" ua=(\S+):\d+ ", front[0])
        assert upstream, front[0]
        expected = addresses[upstream.group(1)]
        lines = {name: _grep(host, "/var/log/uwsgi/api.log", f"id={request_id} ") for name, host in apps.items()}
        found = {name for name, matched in lines.items() if matched}
        assert found == {expected}, (request_id, front[0], found)
        assert response.json()["hostname"] == expected
        served_by.add(expected)
    record(
        f"request id {request_id}:\n  web1 {ACCESS_LOG}: {front[0]}\n"
        f"  {expected} /var/log/uwsgi/api.log: {lines[expected][0]}"
    )
    assert served_by == set(APPS)


def test_exporters_answer_the_monitoring_host_only(web: Any, apps: dict[str, Any]) -> None:
    monitor, outsider = apps[APPS[0]], apps[APPS[1]]
    web_address, app2_address = private_address(web), private_address(outsider)
    rc, body = fetch_inside(monitor, f"http://{web_address}:9113/metrics")
    assert rc == 0, body
    assert re.search(r"^nginx_connections_active \d+", body, re.MULTILINE), body[:500]
    assert re.search(r"^nginx_up 1", body, re.MULTILINE)
    rc, body = fetch_inside(monitor, f"http://{app2_address}:9100/metrics")
    assert rc == 0, body
    assert re.search(r"^node_load1 ", body, re.MULTILINE)
    assert re.search(r"^node_memory_MemAvailable_bytes ", body, re.MULTILINE)
    # app2 is not in monitoring_allowed_sources: refused on both exporters.
    for target in (f"http://{web_address}:9113/metrics", f"http://{private_address(monitor)}:9100/metrics"):
        rc, body = fetch_inside(outsider, target)
        assert rc != 0 and "refused" in body.lower(), (target, body)


def test_status_reports_a_healthy_cluster_without_changes() -> None:
    run = playbook("status.yml", "all")
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"changed=0 ", run.stdout) and not re.search(r"changed=[1-9]", run.stdout)
    for host in (*WEBS, *APPS):
        assert f"{host} is healthy" in run.stdout
    assert "busy/idle" in run.stdout and "active connections" in run.stdout
    record("status.yml on the cluster:\n" + _report(run.stdout))
    check = playbook("status.yml", "all", None, "--check")
    assert check.returncode == 0, check.stdout[-3000:]


def test_status_fails_naming_the_host_and_service_that_is_down(apps: dict[str, Any]) -> None:
    victim_name = APPS[0]
    victim = apps[victim_name]
    victim.check_output(f"systemctl stop {UNIT}")
    try:
        run = playbook("status.yml", "all")
    finally:
        victim.check_output(f"systemctl start {UNIT}")
    assert run.returncode != 0
    assert f"{victim_name} is unhealthy: service flask_app ({UNIT}) is inactive" in run.stdout, run.stdout[-3000:]
    assert f"{APPS[1]} is healthy" in run.stdout


def _report(stdout: str) -> str:
    """The output of the task that prints the table, as an operator sees it."""
    _, _, rest = stdout.partition("TASK [status : Show the report]")
    lines = rest.partition("TASK [")[0].splitlines()[1:]  # past the banner's asterisks
    # The task's start time (ansible.posix.profile_tasks, molecule.yml) is no part of it.
    return "\n".join(line for line in lines if not re.match(r"\w+ \d+ \w+ \d{4} +[\d:]+ \+0000 \(", line)).strip()


@pytest.fixture(autouse=True, scope="module")
def _uwsgi_back(apps: dict[str, Any]) -> Any:
    yield
    for host in apps.values():
        host.run(f"systemctl start {UNIT}")
