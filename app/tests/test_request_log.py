"""Request ids in responses (errors included) and the slow-request log line."""

from __future__ import annotations

import logging

import pytest
from app.request_log import HEADER, request_id_from
from flask import Flask
from flask.testing import FlaskClient

from app import create_app


def test_id_from_nginx_is_returned(client: FlaskClient) -> None:
    response = client.get("/api/info", headers={HEADER: "0123456789abcdef0123456789abcdef"})
    assert response.headers[HEADER] == "0123456789abcdef0123456789abcdef"


def test_missing_id_gets_a_fresh_one(client: FlaskClient) -> None:
    first = client.get("/healthz").headers[HEADER]
    second = client.get("/healthz").headers[HEADER]
    assert len(first) == 32 and first != second


@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 200, "semi;colon-but-long"])
def test_malformed_id_is_replaced(bad: str) -> None:
    replaced = request_id_from(bad)
    assert replaced != bad and len(replaced) == 32


def test_errors_carry_the_id_too(client: FlaskClient) -> None:
    assert client.get("/no-such-page", headers={HEADER: "req-404-000000"}).headers[HEADER] == "req-404-000000"


def test_unhandled_exception_500_carries_the_id() -> None:
    app = create_app({"RELEASE": "t", "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    response = app.test_client().get("/boom", headers={HEADER: "req-500-000000"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "req-500-000000"


def test_slow_requests_are_logged_with_their_id(caplog: pytest.LogCaptureFixture) -> None:
    app: Flask = create_app({"TESTING": True, "RELEASE": "t", "SLOW_REQUEST_MS": 0})
    logger = logging.getLogger("flask_app.requests")
    logger.propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="flask_app.requests"):
            app.test_client().get("/healthz", headers={HEADER: "req-slow-0000"})
    finally:
        logger.propagate = False
    messages = [record.getMessage() for record in caplog.records]
    assert any("SLOW request id=req-slow-0000" in m and "path=/healthz" in m for m in messages), messages


def test_fast_requests_are_not_logged_as_slow(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app({"TESTING": True, "RELEASE": "t", "SLOW_REQUEST_MS": 60_000})
    logger = logging.getLogger("flask_app.requests")
    logger.propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="flask_app.requests"):
            app.test_client().get("/healthz")
    finally:
        logger.propagate = False
    assert not [r for r in caplog.records if "SLOW" in r.getMessage()]
