"""The strategy's remembered compile (plugins/strategy/flask_app_linear.py) against Mitogen's module scan."""

from __future__ import annotations

from pathlib import Path

import ansible.executor.module_common
import ansible.modules
import pytest
from conftest import load

module_finder = pytest.importorskip("ansible_mitogen.module_finder")
MODULES = Path(ansible.modules.__file__).parent
BUILTIN = (ansible.executor.module_common._MODULE_UTILS_PATH,)


def scan(name: str) -> list[tuple[str, str, bool]]:
    return module_finder.scan(f"ansible_module_{name}", str(MODULES / f"{name}.py"), BUILTIN)


def test_the_module_scan_compiles_each_file_once_and_finds_the_same_module_utils(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASK_APP_MITOGEN", raising=False)
    # The builtin compile, as Mitogen calls it; the test's end removes whatever is set here.
    monkeypatch.setattr(module_finder, "compile", compile, raising=False)
    plain = {name: scan(name) for name in ("stat", "file", "command")}

    load("strategy/flask_app_linear.py", "flask_app_linear_under_test")
    remembered = module_finder.compile
    assert remembered is not compile, "the strategy did not give Mitogen's module scan a remembered compile"
    assert {name: scan(name) for name in ("stat", "file", "command")} == plain
    calls = remembered.cache_info()
    # The three modules share most of their module_utils: each of those was compiled once.
    assert calls.hits > calls.misses > 3, calls
