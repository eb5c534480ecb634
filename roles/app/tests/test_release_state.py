"""The app role's read-only release module, against a service directory on disk."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_ROLE = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):  # noqa: ANN202 - a module object
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


releases = _load("flask_app_releases", _ROLE / "library" / "flask_app_releases.py")
filters = _load("app_filters_state", _ROLE / "filter_plugins" / "app.py")


class FakeModule:
    """Stands in for AnsibleModule: the unit is 'active' when its name says so."""

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        return (0 if argv[-1] == "active-unit" else 3), "", ""


def resolved(name: str, base: Path, unit: str, release: str) -> dict[str, str]:
    """A service with the paths the stack role resolves (plugins/filter/releases.py, host_paths)."""
    return {
        "name": name,
        "dir": str(base),
        "unit": unit,
        "release": release,
        "releases_path": f"{base}/releases",
        "release_path": f"{base}/releases/{release}",
        "current_path": f"{base}/current",
        "previous_path": f"{base}/previous",
    }


def make_service(tmp_path: Path, names: list[str], live: str, previous: str) -> Path:
    base = tmp_path / "svc"
    for age, name in enumerate(names):  # oldest first
        release = base / "releases" / name
        release.mkdir(parents=True)
        (release / ".venv").symlink_to(f"/venvs/{name}")
        os.utime(release, (1000 + age, 1000 + age))
    (base / "current").symlink_to(base / "releases" / live)
    (base / "previous").symlink_to(base / "releases" / previous)
    return base


def test_a_new_target_makes_the_live_release_the_one_kept(tmp_path: Path) -> None:
    base = make_service(tmp_path, ["r1", "r2", "r3", "r4"], live="r3", previous="r2")
    service = resolved("svc", base, "active-unit", "r4")
    state = releases.service_state(FakeModule(), service)
    assert state["live_release"] == "r3" and state["running"] is True
    assert state["live_venv"] == "/venvs/r3" and state["target_venv"] == "/venvs/r4"
    assert state["previous"] == f"{base}/releases/r2"
    assert state["previous_after"] == f"{base}/releases/r3"
    # Keep 2: r4 goes live, r3 becomes previous; r2 and r1 go.
    doomed = filters.releases_to_remove([state], 2, [state["previous_after"]])
    assert sorted(doomed) == [f"{base}/releases/r1", f"{base}/releases/r2"]


def test_an_unchanged_release_keeps_previous_and_a_missing_service_reads_empty(tmp_path: Path) -> None:
    base = make_service(tmp_path, ["r1", "r2"], live="r2", previous="r1")
    same = releases.service_state(FakeModule(), resolved("s", base, "x", "r2"))
    assert same["previous_after"] == f"{base}/releases/r1" and same["running"] is False
    fresh = releases.service_state(FakeModule(), resolved("n", tmp_path / "none", "x", "r1"))
    assert fresh["live_release"] == "" and fresh["files"] == [] and fresh["previous_after"] == ""


def test_a_virtualenv_goes_with_the_last_release_that_used_it(tmp_path: Path) -> None:
    base = make_service(tmp_path, ["r1", "r2", "r3", "r4"], live="r3", previous="r2")
    for name in ("r1", "r2", "r3", "r4", "orphan"):
        (base / "venvs" / name).mkdir(parents=True)
    # r2 and r3 share one virtualenv (the same requirements).
    (base / "releases" / "r2" / ".venv").unlink()
    (base / "releases" / "r2" / ".venv").symlink_to(base / "venvs" / "r3")
    for name in ("r1", "r3", "r4"):
        (base / "releases" / name / ".venv").unlink()
        (base / "releases" / name / ".venv").symlink_to(base / "venvs" / name)
    service = resolved("svc", base, "x", "r4")
    state = releases.service_state(FakeModule(), service)
    removed = [f"{base}/releases/r1", f"{base}/releases/r2"]
    assert sorted(filters.venvs_to_remove([state], removed)) == [
        f"{base}/venvs/orphan",
        f"{base}/venvs/r1",
        f"{base}/venvs/r2",
    ]
    assert filters.venvs_to_remove([state], []) == [f"{base}/venvs/orphan", f"{base}/venvs/r2"]


def test_a_rollback_target_is_read_in_its_own_release_directory(tmp_path: Path) -> None:
    base = make_service(tmp_path, ["r1", "r2", "r3"], live="r3", previous="r2")
    (base / "venvs" / "r2").mkdir(parents=True)
    (base / "releases" / "r2" / ".venv").unlink()
    (base / "releases" / "r2" / ".venv").symlink_to(base / "venvs" / "r2")
    [back] = filters.with_releases([resolved("svc", base, "x", "r9")], ["r2"])
    assert back["release"] == "r2" and back["release_path"] == f"{base}/releases/r2"
    state = releases.service_state(FakeModule(), back)
    assert state["target_venv"] == f"{base}/venvs/r2" and state["previous_after"] == f"{base}/releases/r3"
    [none] = filters.with_releases([resolved("svc", base, "x", "r9")], [""])
    assert none["release"] == "" and none["release_path"] == ""
