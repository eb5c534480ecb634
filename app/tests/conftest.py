"""Fixtures for the app's unit tests."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": True, "RELEASE": "test-release"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
