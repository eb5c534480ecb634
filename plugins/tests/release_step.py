"""The release step (plugins/action/flask_app_release.py) and the pure resolution
(plugins/filter/releases.py) together, as the stack role runs them, for the unit tests."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


step = _load("flask_app_release_step", PROJECT / "plugins" / "action" / "flask_app_release.py")
releases = _load("flask_app_releases_filters", PROJECT / "plugins" / "filter" / "releases.py")


def resolve(
    services: list[dict[str, Any]],
    release: str,
    base_dir: str,
    default_mode: str,
    python_version: str,
    all_in_one: bool = False,
    bind_address: str = "127.0.0.1",
    *,
    git_cache: str | None = None,
    build_dir: str | None = None,
) -> list[dict[str, Any]]:
    """What one host's stack_resolved_services would be: the release step's manifest for
    this host alone, then the filter."""
    git_cache = git_cache or tempfile.mkdtemp(prefix="git-cache-")
    build_dir = build_dir or tempfile.mkdtemp(prefix="build-")
    requests = [{"host": "h1", "cluster": "main", "services": releases.release_sources(services), "release": release}]
    manifest = step.build_manifest(requests, git_cache, build_dir)
    return releases.resolve_services(
        services, manifest["main"], base_dir, default_mode, python_version, all_in_one, bind_address
    )
