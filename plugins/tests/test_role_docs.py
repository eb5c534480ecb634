"""The role READMEs (.ci/role_docs.py) show Ansible's doc markup as Markdown, never raw."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "role_docs", Path(__file__).resolve().parents[2] / ".ci" / "role_docs.py"
)
assert _SPEC and _SPEC.loader
role_docs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(role_docs)


@pytest.mark.parametrize(
    ("source", "markdown"),
    [
        ("C(auto) is one per CPU", "`auto` is one per CPU"),
        ("V(pkg:create_app(\\)) or O(stack_services[].git)", "`pkg:create_app()` or `stack_services[].git`"),
        ("I(only) B(never) M(ansible.builtin.apt) E(PIP_CERT)", "*only* **never** `ansible.builtin.apt` `PIP_CERT`"),
        (
            "see U(https://example.org/) and L(the docs,https://example.org/d)",
            "see <https://example.org/> and [the docs](https://example.org/d)",
        ),
        ("C(a `tick`)", "`` a `tick` ``"),
        ("IBM(International) and TOPIC(x) stay as they are", "IBM(International) and TOPIC(x) stay as they are"),
    ],
)
def test_doc_markup_becomes_markdown(source: str, markdown: str) -> None:
    assert role_docs.markdown(source) == markdown


def test_no_readme_shows_raw_markup() -> None:
    for role in sorted(role_docs.ROLES.iterdir()):
        if (role / "meta" / "argument_specs.yml").exists():
            text = role_docs.render(role)
            assert not any(f"{kind}(" in text for kind in (" C", " V", " I", " B", " O", "(C", "(V")), role.name
