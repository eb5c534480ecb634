"""Removing a service (stack_services[].state: absent), as docs/operations.md tells it.

A second service is converged next to the default one and served on its own route; then
its entry says `state: absent` (its code already gone from the controller) while a
bounded request loop runs against the default service: the unit, port, route, code and
environment go, the data stays, the other service keeps its master process and drops no
request. Then `purge: true` removes the data and the account. Every removal repeated
changes nothing. Runs on the Debian 13 host of the default scenario and leaves it as the
scenario's own inventory describes it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import DEFAULT_SERVICE, PROJECT, Load, playbook

NAME = "extra"
PORT = 8082
SERVICE_DIR = f"/srv/flask_app/{NAME}"
DEFAULT_ROUTES = [
    {"path": "/static/", "service": "flask_app", "type": "static"},
    {"path": "/", "service": "flask_app"},
]


@pytest.fixture(scope="module")
def removal_host(host: Any) -> Iterator[str]:
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default" or not host.backend.host.endswith("-d13"):
        pytest.skip("service removal runs on the Debian 13 host of the default scenario")
    yield host.backend.host


def inventory(extra: dict[str, Any], routes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "stack_services": [{**DEFAULT_SERVICE, "src": str(PROJECT / "app")}, {"name": NAME, **extra}],
        "stack_routes": [*(routes or []), *DEFAULT_ROUTES],
    }


def changed(run: Any, host_name: str) -> int:
    recap = re.search(rf"{re.escape(host_name)}\s*:\s*ok=\d+\s+changed=(\d+)", run.stdout)
    assert recap, run.stdout[-3000:]
    return int(recap.group(1))


def main_pid(host: Any, unit: str) -> str:
    return host.check_output(f"systemctl show --property=MainPID --value {unit}")


def test_an_absent_service_is_removed_and_its_data_kept_until_purged(
    host: Any, removal_host: str, base_url: str, web: requests.Session, tls_verify: bool | str, tmp_path: Path
) -> None:
    # The app with a page of its own, routed to it.
    src = tmp_path / NAME
    shutil.copytree(PROJECT / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    views = src / "app" / "views.py"
    views.write_text(
        views.read_text(encoding="utf-8")
        + '\n\n@bp.get("/extra/hello")\ndef extra_hello() -> str:\n    return "hello from extra"\n',
        encoding="utf-8",
    )
    present = {"src": str(src), "port": PORT, "static_dir": "app/static", "data_dirs": ["instance"]}
    served = playbook("site.yml", removal_host, inventory(present, [{"path": "/extra/", "service": NAME}]))
    assert served.returncode == 0, served.stdout[-3000:]
    assert web.get(f"{base_url}/extra/hello", timeout=10).text == "hello from extra"
    with host.sudo():
        host.run_test(f"echo kept > {SERVICE_DIR}/data/instance/kept.txt")
    other_pid = main_pid(host, "uwsgi-flask_app")

    # Marked absent, with nothing but its name: the code is gone from the controller too.
    shutil.rmtree(src)
    with Load(base_url + "/healthz", verify=tls_verify) as load:
        removed = playbook("site.yml", removal_host, inventory({"state": "absent"}))
    assert removed.returncode == 0, removed.stdout[-3000:]
    assert load.ok > 0 and load.failures == [], load.failures[:5]
    with host.sudo():
        assert not host.service(f"uwsgi-{NAME}").is_running
        for gone in (
            f"/etc/systemd/system/uwsgi-{NAME}.service",
            f"/etc/uwsgi/{NAME}",
            f"/etc/flask_app/{NAME}.env",
            f"/var/www/flask_app/{NAME}",
            f"/etc/nginx/flask_app-upstreams/{NAME}.conf",
            f"{SERVICE_DIR}/releases",
            f"{SERVICE_DIR}/venvs",
            f"{SERVICE_DIR}/current",
        ):
            assert not host.file(gone).exists, gone
        assert not host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
        assert str(PORT) not in host.check_output("nft list table inet flask_app")
        assert f"{NAME}.log" not in host.file("/etc/logrotate.d/flask_app-uwsgi").content_string
        assert f"upstream {NAME} " not in host.file("/etc/nginx/sites-available/flask_app.conf").content_string
        # The data and the account that owns it stay.
        assert host.file(f"{SERVICE_DIR}/data/instance/kept.txt").content_string == "kept\n"
        assert host.file(f"{SERVICE_DIR}/data/instance").user == NAME
    assert web.get(f"{base_url}/extra/hello", timeout=10).status_code == 404
    # The other service was not even restarted.
    assert main_pid(host, "uwsgi-flask_app") == other_pid
    assert web.get(f"{base_url}/healthz", timeout=10).json()["service"] == "flask_app"

    again = playbook("site.yml", removal_host, inventory({"state": "absent"}))
    assert again.returncode == 0, again.stdout[-3000:]
    assert changed(again, removal_host) == 0

    # A dry run of the purge changes nothing on the host.
    purge = inventory({"state": "absent", "purge": True})
    dry = playbook("site.yml", removal_host, purge, "--check")
    assert dry.returncode == 0, dry.stdout[-3000:]
    with host.sudo():
        assert host.file(f"{SERVICE_DIR}/data/instance/kept.txt").exists

    purged = playbook("site.yml", removal_host, purge)
    assert purged.returncode == 0, purged.stdout[-3000:]
    with host.sudo():
        assert not host.file(SERVICE_DIR).exists
        assert not host.user(NAME).exists
        assert not host.group(NAME).exists
        assert host.run(f"ls /var/log/uwsgi/{NAME}.log*").rc != 0
    assert web.get(f"{base_url}/healthz", timeout=10).ok

    again = playbook("site.yml", removal_host, purge)
    assert again.returncode == 0, again.stdout[-3000:]
    assert changed(again, removal_host) == 0
