"""Loads plugins/filter/inputs.py as Ansible does: a file, not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

PLUGINS = Path(__file__).resolve().parent.parent


def load(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PLUGINS / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many hostile values the generative test tried, shown even when it passes."""
    tally = getattr(sys.modules.get("test_hostile_inputs"), "TALLY", {})
    for kind, line in tally.items():
        terminalreporter.write_line(f"hostile inputs, {kind} host: {line}")


@pytest.fixture(scope="session")
def inputs() -> ModuleType:
    return load("filter/inputs.py", "flask_app_inputs")
