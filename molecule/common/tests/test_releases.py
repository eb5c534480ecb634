"""Releases under load: deploy, a broken deploy rolled back by itself, and a rollback by hand.

A bounded request loop runs against the published port on 127.0.0.1 during
every step; not one request may fail. Runs on the Debian 13 host of the
default scenario (the cluster scenario repeats it with a rolling deploy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[3]
SERVICE = "flask_app"


class Load:
    """GET / in a loop from a few threads until stopped; bounded in time and count."""

    def __init__(self, url: str, threads: int = 4, max_seconds: float = 600, max_requests: int = 200_000) -> None:
        self.url, self.max_seconds, self.max_requests = url, max_seconds, max_requests
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        session = requests.Session()
        while not self._stop.is_set() and time.monotonic() < deadline and self.ok < self.max_requests:
            try:
                response = session.get(self.url, timeout=10)
                failure = None if response.status_code == 200 else f"{response.status_code} {response.text[:80]}"
            except requests.RequestException as error:
                failure = f"{type(error).__name__}: {error}"
            with self._lock:
                if failure:
                    self.failures.append(failure)
                else:
                    self.ok += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def playbook(name: str, limit: str, extra: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one of the project's playbooks against the scenario's inventory, as a user would."""
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    command = ["ansible-playbook", "-i", str(inventory), str(PROJECT / "playbooks" / name), "--limit", limit]
    if extra:
        command += ["--extra-vars", json.dumps(extra)]
    env = {**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)


def release_of(base_url: str) -> str:
    return requests.get(base_url + "/healthz", timeout=10).json()["release"]


def variant(tmp: Path, name: str, change: str) -> dict[str, Any]:
    """A copy of the app with one change, as the service definition deploy.yml gets."""
    src = tmp / name
    shutil.copytree(PROJECT / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    views = src / "app" / "views.py"
    views.write_text(views.read_text(encoding="utf-8") + change, encoding="utf-8")
    return {
        "stack_services": [
            {
                "name": SERVICE,
                "src": str(src),
                "module": "run:app",
                "port": 8080,
                "static_dir": "app/static",
                "health_path": "/healthz",
            }
        ]
    }


@pytest.fixture(scope="module")
def release_host(host: Any) -> Iterator[str]:
    if not host.backend.host.endswith("-d13"):
        pytest.skip("the release checks run on the Debian 13 host")
    yield host.backend.host


def test_deploy_broken_deploy_and_rollback_drop_no_request(
    release_host: str, base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("releases")
    first = release_of(base_url)
    good = variant(tmp, "v2", "\n# v2: a code-only change\n")
    broken = variant(tmp, "v3", "\nimport no_such_module_in_v3  # noqa\n")
    with Load(base_url + "/") as load:
        started = time.monotonic()
        deployed = playbook("deploy.yml", release_host, good)
        deploy_seconds = time.monotonic() - started
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        second = release_of(base_url)
        assert second != first

        refused = playbook("deploy.yml", release_host, broken)
        assert refused.returncode != 0
        assert "failed its health check" in refused.stdout
        assert "no_such_module_in_v3" in refused.stdout
        assert release_of(base_url) == second

        rolled_back = playbook("rollback.yml", release_host)
        assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
        assert release_of(base_url) == first
    print(
        f"\ncode-only deploy on one host: {deploy_seconds:.1f} s; "
        f"{load.ok} requests during deploy, broken deploy and rollback, {len(load.failures)} failed"
    )
    assert load.ok > 0
    assert load.failures == []
