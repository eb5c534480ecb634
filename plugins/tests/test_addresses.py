"""The one loopback rule (plugins/test/addresses.py) every role and playbook uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "addresses", Path(__file__).resolve().parents[1] / "test" / "addresses.py"
)
assert _SPEC and _SPEC.loader
addresses = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(addresses)


@pytest.mark.parametrize("value", ["127.0.0.1", "127.1.2.3", "::1"])
def test_loopback_addresses(value: str) -> None:
    assert addresses.is_loopback(value)


@pytest.mark.parametrize(
    "value", ["10.0.0.11", "0.0.0.0", "::", "fe80::1", "localhost", "127", "", None, "127.0.0.1\n"]
)
def test_other_values_are_not_loopback(value: object) -> None:
    assert not addresses.is_loopback(value)
