"""What grows with every release stops growing at app_keep_releases, on the host and on the controller.

A pyproject project builds one virtualenv and, offline, one wheelhouse per release: the
worst case. It is deployed more times than app_keep_releases allows; after each deploy
the release is served on its own route (nginx over HTTPS to the service's unix socket)
and the host's releases, virtualenvs and wheelhouses and the controller's release
archives and wheelhouses of the service are counted. Runs on the Debian 13 host of the
unix scenario (offline wheels, as there), then removes the service (purge) so the host
is as the scenario left it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import DEFAULT_SERVICE, PROJECT, playbook, record

NAME = "kept"
PORT = 8083
SERVICE_DIR = f"/srv/flask_app/{NAME}"
KEEP = 2
# One deploy more than kept: the last one must prune the first release everywhere.
DEPLOYS = KEEP + 1
ROUTES = [{"path": "/static/", "service": "flask_app", "type": "static"}, {"path": "/", "service": "flask_app"}]
# The service's own pages, while it is present.
OWN_ROUTE = {"path": f"/{NAME}/", "service": NAME}


# Where this test runs, and the modes it converges there (plugins/tests/test_mode_coverage.py).
CONVERGES = ("unix", "-d13", ["install:pyproject-offline"])


@pytest.fixture(scope="module")
def retention_host(host: Any) -> Iterator[str]:
    scenario, suffix, _ = CONVERGES
    if os.environ.get("MOLECULE_SCENARIO_NAME") != scenario or not host.backend.host.endswith(suffix):
        pytest.skip(f"retention runs on the {suffix} host of the {scenario} scenario")
    yield host.backend.host


def project(src: Path, mark: int) -> None:
    """A Flask project with pyproject.toml and no requirements.txt: each mark is a release."""
    (src / NAME).mkdir(parents=True, exist_ok=True)
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{NAME}"\nversion = "1.0.{mark}"\nrequires-python = ">=3.11"\n'
        'dependencies = ["Flask>=3.0,<4"]\n\n[tool.setuptools]\npackages = ["kept"]\n',
        encoding="utf-8",
    )
    (src / NAME / "__init__.py").write_text(
        f'from flask import Flask\n\napp = Flask(__name__)\nMARK = {mark}\n\n\n@app.get("/healthz")\n'
        'def healthz() -> str:\n    return "ok"\n\n\n'
        f'@app.get("/{NAME}/mark")\ndef mark() -> str:\n    return str(MARK)\n',
        encoding="utf-8",
    )


def inventory(src: Path, build: Path, **extra: Any) -> dict[str, Any]:
    return {
        "stack_services": [
            {**DEFAULT_SERVICE, "src": str(PROJECT / "app")},
            {"name": NAME, "src": str(src), "module": "kept:app", "port": PORT, **extra},
        ],
        "stack_routes": ROUTES if extra.get("state") == "absent" else [OWN_ROUTE, *ROUTES],
        "app_pip_mode": "offline",
        "app_keep_releases": KEEP,
        "app_build_dir": str(build),
        "stack_build_dir": str(build),
        "stack_builds_kept": KEEP,
    }


def count_on_host(host: Any, sub: str) -> int:
    with host.sudo():
        return len(host.run(f"ls -1 {SERVICE_DIR}/{sub}").stdout.split())


def test_releases_virtualenvs_and_wheelhouses_stop_growing_at_app_keep_releases(
    host: Any, retention_host: str, base_url: str, web: requests.Session, tmp_path: Path
) -> None:
    src, build = tmp_path / NAME, tmp_path / "build"
    counts = []
    for mark in range(1, DEPLOYS + 1):
        project(src, mark)
        # The first run makes the service (unit, user); the others are code-only deploys.
        run = (
            playbook("site.yml", retention_host, inventory(src, build))
            if mark == 1
            else playbook("deploy.yml", retention_host, {**inventory(src, build), "service": NAME})
        )
        assert run.returncode == 0, run.stdout[-3000:]
        assert web.get(f"{base_url}/{NAME}/mark", timeout=10).text == str(mark)
        counts.append(
            {
                "releases": count_on_host(host, "releases"),
                "venvs": count_on_host(host, "venvs"),
                "wheelhouses": count_on_host(host, "wheels"),
                "archives": len(list(build.glob(f"{NAME}-*.tar.gz"))),
                "controller wheelhouses": len(list((build / "wheels" / NAME).iterdir())),
            }
        )
    record(f"{retention_host}: {DEPLOYS} releases with app_keep_releases {KEEP}, kept after each: {counts}")
    # Growing up to the limit, then flat: every count equals app_keep_releases from then on.
    assert counts[0] == dict.fromkeys(counts[0], 1)
    assert all(after == dict.fromkeys(after, KEEP) for after in counts[KEEP - 1 :]), counts
    assert web.get(f"{base_url}/healthz", timeout=10).ok

    removed = playbook("site.yml", retention_host, inventory(src, build, state="absent", purge=True))
    assert removed.returncode == 0, removed.stdout[-3000:]
    with host.sudo():
        assert not host.file(SERVICE_DIR).exists
