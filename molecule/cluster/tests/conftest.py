"""Fixtures for the cluster checks: two web hosts, two app hosts, reached by name.

Every host is reached as root (web1 and app1 over SSH with sudo, app2 as root:
a minimal Debian has no sudo), so the tests never wrap commands in sudo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import testinfra

# The release-test helpers are shared with the single-host scenarios.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common" / "tests"))

SCENARIO = Path(__file__).resolve().parent.parent
WEB = "flask-app-cluster-web1"
# The second front end behind the same name (Debian 12, reached as root with docker exec).
WEB2 = "flask-app-cluster-web2"
WEBS = (WEB, WEB2)
APPS = ("flask-app-cluster-app1", "flask-app-cluster-app2")


def host_named(name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="session")
def web() -> Any:
    return host_named(WEB)


@pytest.fixture(scope="session")
def apps() -> dict[str, Any]:
    return {name: host_named(name) for name in APPS}


@pytest.fixture(scope="session")
def base_url() -> str:
    out = subprocess.run(["docker", "port", WEB, "80/tcp"], check=True, capture_output=True, text=True).stdout
    address = next(line for line in out.splitlines() if line.startswith("127.0.0.1:"))
    return f"http://{address.strip()}"


def private_address(host: Any) -> str:
    """The host's address on the stack's network (its stack_private_address)."""
    return host.ansible.get_variables()["stack_private_address"]
