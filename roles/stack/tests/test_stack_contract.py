"""The stack role's outputs are a contract: docs/architecture.md names every fact it sets and
every field of a resolved service, and the role's own description lists the facts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml
from release_step import resolve

PROJECT = Path(__file__).resolve().parents[3]
ROLE = PROJECT / "roles" / "stack"

_SPEC = importlib.util.spec_from_file_location("stack_filters_contract", PROJECT / "plugins" / "filter" / "releases.py")
assert _SPEC and _SPEC.loader
stack = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(stack)
_INPUTS = importlib.util.spec_from_file_location("inputs_contract", PROJECT / "plugins" / "filter" / "inputs.py")
assert _INPUTS and _INPUTS.loader
inputs = importlib.util.module_from_spec(_INPUTS)
_INPUTS.loader.exec_module(inputs)


def _section(title: str) -> str:
    """The text of one section of docs/architecture.md, up to the next heading of its level or above."""
    text = (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return re.split(r"\n#{2,3} ", text.split(title, 1)[1], maxsplit=1)[0]


def _table_names(section: str) -> set[str]:
    """The names in the first column of a Markdown table: | `name` | ..."""
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.MULTILINE))


def published_facts() -> set[str]:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text(encoding="utf-8"))
    facts = {name for task in tasks for name in task.get("ansible.builtin.set_fact", {})}
    for release in ROLE.glob("vars/Debian-*.yml"):
        facts |= set(yaml.safe_load(release.read_text(encoding="utf-8")))
    return facts


def test_every_fact_the_stack_role_sets_is_in_the_contract() -> None:
    documented = _table_names(_section("## Facts the stack role publishes"))
    assert published_facts() == documented


def test_the_stack_role_describes_every_fact_it_publishes() -> None:
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    description = " ".join(spec["argument_specs"]["main"]["description"])
    assert {fact for fact in published_facts() if f"C({fact})" not in description} == set()


def test_every_field_of_a_resolved_service_is_in_the_contract(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("Flask\n", encoding="utf-8")
    (tmp_path / "static").mkdir()
    service = {"name": "web", "src": str(tmp_path), "port": 8080, "static_dir": "static"}
    [resolved] = resolve([service], "auto", "/srv/x", "tcp", "3.13")
    documented = _table_names(_section("### A resolved service"))
    assert set(resolved) | inputs.SERVICE_KEYS == documented
