"""Controller-side filter of the app role: which old releases are removed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "app_filters", Path(__file__).resolve().parent.parent / "filter_plugins" / "app.py"
)
assert _SPEC and _SPEC.loader
app_filters = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(app_filters)

SERVICE = {"dir": "/srv/a", "release": "live"}


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
