"""The check that decides whether a release may go live before it takes traffic: wsgi_check.

The live check after the switch is the uwsgi role's probe (roles/uwsgi/tests/test_uwsgi_probe.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "files" / "usr" / "local" / "lib" / "flask_app"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HELPERS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wsgi_check = _load("wsgi_check")

GOOD_APP = """
import json
def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        start_response("500 INTERNAL SERVER ERROR", [])
        return [b"no"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"status": "ok", "release": "r2"}).encode()]
"""


@pytest.fixture
def release(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    module = f"probe_app_{request.node.name.replace('[', '_').replace(']', '_').replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(getattr(request, "param", GOOD_APP), encoding="utf-8")
    yield f"{tmp_path}|{module}"
    sys.modules.pop(module, None)


def _split(release: str) -> tuple[str, str]:
    directory, module = release.split("|")
    return directory, f"{module}:app"


def test_healthy_release_passes(release: str) -> None:
    directory, target = _split(release)
    assert wsgi_check.check(directory, target, "r2", ["/healthz", "/"]) == []


def test_wrong_release_is_reported(release: str) -> None:
    directory, target = _split(release)
    assert wsgi_check.check(directory, target, "r3", ["/healthz"]) == ["GET /healthz reports release r2, expected r3"]


def test_server_error_is_reported(release: str) -> None:
    directory, target = _split(release)
    assert wsgi_check.check(directory, target, "r2", ["/boom"]) == ["GET /boom answered 500"]


@pytest.mark.parametrize("release", ["import no_such_module_anywhere\n"], indirect=True)
def test_import_error_is_reported(release: str) -> None:
    directory, target = _split(release)
    [problem] = wsgi_check.check(directory, target, "r2", ["/healthz"])
    assert problem.startswith(f"cannot import {target}: ModuleNotFoundError")


PLAIN_TEXT_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


@pytest.mark.parametrize("release", [PLAIN_TEXT_APP], indirect=True)
def test_a_plain_text_health_path_passes_the_check(release: str) -> None:
    directory, target = _split(release)
    assert wsgi_check.check(directory, target, "r2", ["/healthz"]) == []


FACTORY_APP = """
def create_app():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"made by the factory"]
    return app
"""


@pytest.mark.parametrize("release", [FACTORY_APP], indirect=True)
def test_an_application_factory_is_called_as_uwsgi_calls_it(release: str) -> None:
    directory, module = release.split("|")
    assert wsgi_check.check(directory, f"{module}:create_app()", "r2", ["/healthz"]) == []
