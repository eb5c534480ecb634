"""When flask-app-acme orders (roles/nginx/templates/usr/local/sbin/flask-app-acme.j2): no ACME
certificate for these names from this directory, or a third of its lifetime left; the names
compared as CAs issue them (lower case, each once)."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

DIRECTORY = "https://acme.example/directory"
CONFIG = {"directory": DIRECTORY, "names": ["www.example.com", "example.com"]}


@pytest.fixture(scope="module")
def script() -> types.ModuleType:
    variables = host_variables("unix-tls")
    variables.update(
        {"nginx_tls_mode": "acme", "nginx_acme_email": "ops@example.com", "nginx_server_name": "example.com"}
    )
    text = render.render_template(render.check(variables), "nginx/templates/usr/local/sbin/flask-app-acme.j2")
    module = types.ModuleType("flask_app_acme")
    exec(compile(text, "flask-app-acme", "exec"), module.__dict__)
    return module


def live(days_left: float, lifetime: float = 90, names: list[str] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "serial": "0A",
        "names": names or ["example.com", "www.example.com"],
        "notBefore": now - timedelta(days=lifetime - days_left),
        "notAfter": now + timedelta(days=days_left),
    }


STATE = {"installed": {"serial": "0A", "directory": DIRECTORY}}


@pytest.mark.parametrize(
    ("state", "certificate", "why"),
    [
        (STATE, None, "no certificate"),
        ({}, live(80), "not the ACME certificate"),
        ({"installed": {"serial": "0B", "directory": DIRECTORY}}, live(80), "not the ACME certificate"),
        ({"installed": {"serial": "0A", "directory": "https://other.example/dir"}}, live(80), "not the ACME"),
        (STATE, live(80, names=["www.example.com"]), "not the ACME certificate"),
        (STATE, live(29), "a third of its lifetime"),
        (STATE, live(14, lifetime=45), "a third of its lifetime"),
        (STATE, live(31), ""),
        (STATE, live(16, lifetime=45), ""),
        (STATE, live(80, names=["EXAMPLE.com", "www.example.com", "example.com"]), ""),
    ],
)
def test_it_orders_only_when_due(script: types.ModuleType, state: dict, certificate: dict | None, why: str) -> None:
    reason = script.why_order(CONFIG, state, certificate)
    assert (why in reason) if why else reason == "", reason
