"""Shared fixtures for the testinfra checks of every scenario.

HTTP checks go from the controller to the port the container publishes on
127.0.0.1, as a user's browser would; host checks run inside the container.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3


def published_url(container: str, port: int = 80) -> str:
    """The 127.0.0.1 URL docker publishes for a container port."""
    out = subprocess.run(
        ["docker", "port", container, f"{port}/tcp"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("127.0.0.1:"):
            return f"http://{line.strip()}"
    raise RuntimeError(f"{container} publishes no 127.0.0.1 port for {port}: {out!r}")


@pytest.fixture(scope="module")
def ansible_vars(host: Any) -> dict[str, Any]:
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def tls_mode(ansible_vars: dict[str, Any]) -> str:
    return str(ansible_vars.get("nginx_tls_mode", "none"))


@pytest.fixture(scope="module")
def tls_enabled(tls_mode: str) -> bool:
    return tls_mode != "none"


@pytest.fixture(scope="module")
def tls_test_dir() -> Path:
    """The test CA and certificates the scenario's prepare made (molecule/common/tls-test-cert.yml)."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tls"


@pytest.fixture(scope="module")
def http_url(host: Any) -> str:
    return published_url(host.backend.host)


@pytest.fixture(scope="module")
def tls_port(host: Any, tls_enabled: bool) -> int:
    if not tls_enabled:
        pytest.skip("this scenario serves plain HTTP")
    return int(published_url(host.backend.host, 443).rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def base_url(host: Any, tls_enabled: bool, http_url: str) -> str:
    """Where the site answers: HTTPS when the scenario turns TLS on (HTTP only redirects then)."""
    if tls_enabled:
        return published_url(host.backend.host, 443).replace("http://", "https://")
    return http_url


@pytest.fixture(scope="module")
def tls_verify(tls_mode: str, tls_test_dir: Path) -> bool | str:
    """What requests verifies the site with: a provided certificate against the test CA that
    signed it; a self-signed one not at all (TLS itself is checked in test_security.py)."""
    if tls_mode == "provided":
        return str(tls_test_dir / "ca.crt")
    if tls_mode == "self_signed":
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return False
    return True


@pytest.fixture(scope="module")
def web(tls_verify: bool | str) -> requests.Session:
    """An HTTP client for the site, as a browser would use it."""
    session = requests.Session()
    # Only 127.0.0.1 is ever asked; the environment's CA bundle or proxy
    # settings (REQUESTS_CA_BUNDLE overrides session.verify) must not apply.
    session.trust_env = False
    session.verify = tls_verify
    return session


@pytest.fixture(scope="module")
def socket_mode(ansible_vars: dict[str, Any]) -> str:
    mode = str(ansible_vars.get("stack_socket_mode", "auto"))
    # These scenarios are single hosts: "auto" is a unix socket there.
    return "unix" if mode == "auto" else mode


def wait_until(check: Callable[[], bool], timeout: float = 30.0, step: float = 0.5) -> bool:
    """Poll `check` until it is true or `timeout` seconds have passed (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except requests.RequestException:
            pass
        time.sleep(step)
    return False
