"""Controller-side filter of the app role: which old releases are removed."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "app_filters", Path(__file__).resolve().parent.parent / "filter_plugins" / "app.py"
)
assert _SPEC and _SPEC.loader
app_filters = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(app_filters)

SERVICE = {
    "dir": "/srv/a",
    "release": "live",
    "releases_path": "/srv/a/releases",
    "release_path": "/srv/a/releases/live",
}


def found(*names_by_age: str) -> list[dict[str, object]]:
    """A `find` result whose files are given newest first."""
    files = [{"path": f"/srv/a/releases/{name}", "mtime": 100 - age} for age, name in enumerate(names_by_age)]
    return [{"item": SERVICE, "files": files}]


def test_keeps_the_newest_and_the_live_release() -> None:
    doomed = app_filters.releases_to_remove(found("r5", "live", "r3", "r2", "r1"), 3)
    assert doomed == ["/srv/a/releases/r2", "/srv/a/releases/r1"]


def test_live_release_survives_even_when_oldest() -> None:
    doomed = app_filters.releases_to_remove(found("r3", "r2", "live"), 1)
    assert doomed == ["/srv/a/releases/r3", "/srv/a/releases/r2"]


def test_nothing_removed_below_the_limit() -> None:
    assert app_filters.releases_to_remove(found("live", "r1"), 5) == []


def test_each_service_gets_its_own_secret_key_from_the_one_in_vault() -> None:
    first = app_filters.service_secret_key("the-vaulted-secret-key", "shop")
    assert first == app_filters.service_secret_key("the-vaulted-secret-key", "shop")
    assert first != app_filters.service_secret_key("the-vaulted-secret-key", "blog")
    assert first != app_filters.service_secret_key("another-vaulted-key", "shop")
    assert "the-vaulted-secret-key" not in first and len(first) == 64


def test_a_one_off_command_is_split_like_a_shell_line_but_never_run_by_one() -> None:
    assert app_filters.split_command("flask --app 'my app' db upgrade") == ["flask", "--app", "my app", "db", "upgrade"]
    assert app_filters.split_command("echo a; rm -rf / $(id)") == ["echo", "a;", "rm", "-rf", "/", "$(id)"]


def test_a_wheelhouse_goes_with_the_last_virtualenv_of_its_key() -> None:
    service = {"dir": "/srv/a", "release": "r3", "install_key": "project-r3"}
    state = {
        "item": service,
        "files": [
            {"path": "/srv/a/releases/r3", "venv": "/srv/a/venvs/project-r3-py3.13"},
            {"path": "/srv/a/releases/r2", "venv": "/srv/a/venvs/project-r2-py3.13"},
            {"path": "/srv/a/releases/r1", "venv": "/srv/a/venvs/project-r1-py3.13"},
        ],
        "venvs": [f"/srv/a/venvs/project-r{n}-py3.13" for n in (1, 2, 3)],
        "wheelhouses": [f"/srv/a/wheels/project-r{n}-cp313-x86_64" for n in (0, 1, 2, 3)],
    }
    # r1 goes now; r0's wheelhouse lost its virtualenv before (an earlier run).
    assert app_filters.wheelhouses_to_remove([state], ["/srv/a/releases/r1"]) == [
        "/srv/a/wheels/project-r0-cp313-x86_64",
        "/srv/a/wheels/project-r1-cp313-x86_64",
    ]


def _built(path: Path, age: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(b"")
    else:
        path.mkdir(exist_ok=True)
    os.utime(path, (1_000_000 - age, 1_000_000 - age))


def test_the_controller_keeps_the_newest_builds_of_each_service_and_what_is_served(tmp_path: Path) -> None:
    build, git = tmp_path / "build", tmp_path / "git"
    for age, release in enumerate(["r5", "r4", "r3", "r2", "r1"]):
        _built(build / f"web-{release}.tar.gz", age)
        _built(build / "wheels" / "web" / f"project-{release}-cp313-x86_64", age)
        _built(git / f"web-{release}commit", age)
    _built(build / "api-a1.tar.gz", 9)  # another service's: not this one's to count
    _built(build / "wheels" / "project-r0-cp313-x86_64", 9)  # the layout before wheels/<service>/
    (git / "web.git").mkdir()
    # Two hosts: one serves r1 (oldest), the other r5.
    web = {"name": "web", "git": {}, "release": "r1", "install_key": "project-r1", "src": str(git / "web-r1commit")}
    other_host = {**web, "release": "r5", "install_key": "project-r5", "src": str(git / "web-r5commit")}
    doomed = app_filters.controller_cache_to_remove([web], [web, other_host], str(build), 3)
    assert sorted(doomed) == sorted(
        [
            str(build / "wheels" / "web" / "project-r3-cp313-x86_64"),
            str(build / "wheels" / "web" / "project-r2-cp313-x86_64"),
            str(git / "web-r3commit"),
            str(git / "web-r2commit"),
            str(build / "wheels" / "project-r0-cp313-x86_64"),
        ]
    )
