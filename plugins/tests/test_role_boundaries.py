"""No role reads another role's variables: what it needs is its own input, wired by a playbook.

docs/architecture.md is the contract: a role reads its own variables (defaults, vars,
registered results, facts it sets), the stack role's inputs and facts (`stack_*`, shared by
every role), Ansible's, and nothing else; a value one role computes for another is passed
by the playbooks into the other role's documented input; what an entry point of another role
returns to the role that calls it (its documented output, RV(fact)) is the caller's to read.
This test reads every Jinja expression of every role (templates, tasks, handlers, defaults,
vars and the defaults in meta/argument_specs.yml; `when:`-style keys are whole expressions)
and fails on a name that starts with another role's prefix. Quoted strings inside expressions (file names such
as uwsgi_probe.py) and comments are not names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
ROLES = sorted(path.parent.parent.name for path in (PROJECT / "roles").glob("*/meta/argument_specs.yml"))
# Every role may read the stack role's inputs and facts: they are the contract itself.
SHARED = {"stack"}
# Keys whose value Ansible evaluates as a Jinja expression without {{ }}.
EXPRESSION_KEYS = {"when", "that", "failed_when", "changed_when", "until"}
JINJA = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.S)
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# A name, not an attribute (service.app_hosts is a field of a value, not a variable).
NAME = re.compile(r"(?<![.\w])[a-z][a-z0-9_]*\b")


def expressions_in(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from expressions_in(inner, str(inner_key))
    elif isinstance(value, list):
        for item in value:
            yield from expressions_in(item, key)
    elif isinstance(value, str):
        if key in EXPRESSION_KEYS:
            yield value
        for match in JINJA.finditer(value):
            yield match.group(1) or match.group(2)


def role_expressions(role: str) -> Iterator[tuple[str, str]]:
    base = PROJECT / "roles" / role
    for path in sorted(base.glob("templates/**/*.j2")):
        text = re.sub(r"{#.*?#}", "", path.read_text(encoding="utf-8"), flags=re.S)
        for match in JINJA.finditer(text):
            yield str(path.relative_to(PROJECT)), match.group(1) or match.group(2)
    files = [*base.glob("tasks/*.yml"), *base.glob("handlers/*.yml"), *base.glob("defaults/*.yml")]
    files += [*base.glob("vars/*.yml"), base / "meta" / "argument_specs.yml"]
    for path in sorted(files):
        for expression in expressions_in(yaml.safe_load(path.read_text(encoding="utf-8"))):
            yield str(path.relative_to(PROJECT)), expression


def foreign_names(role: str, expression: str) -> set[str]:
    others = [other for other in ROLES if other != role and other not in SHARED]
    names = set(NAME.findall(QUOTED.sub("", expression)))
    return {name for name in names if any(name.startswith(other + "_") for other in others)}


def called_outputs(role: str) -> set[str]:
    """The documented outputs (RV(fact) in the description) of the other roles' entry points
    this role calls itself (include_role with tasks_from): what a call returns is the
    caller's to read, like the result of a function."""
    outputs: set[str] = set()
    for path in (PROJECT / "roles" / role).glob("tasks/*.yml"):
        for task in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            call = task.get("ansible.builtin.include_role") or {}
            if call.get("name") in ROLES and call["name"] != role and "tasks_from" in call:
                specs = yaml.safe_load(
                    (PROJECT / "roles" / call["name"] / "meta" / "argument_specs.yml").read_text("utf-8")
                )
                description = specs["argument_specs"][call["tasks_from"]].get("description", [])
                outputs |= set(re.findall(r"RV\((\w+)\)", " ".join(description)))
    return outputs


@pytest.mark.parametrize("role", ROLES)
def test_a_role_reads_only_its_own_variables_and_the_stack_contract(role: str) -> None:
    returned = called_outputs(role)
    found = sorted(
        f"{where}: {name}"
        for where, expression in role_expressions(role)
        for name in foreign_names(role, expression) - returned
    )
    assert not found, f"roles/{role} reads another role's variables (docs/architecture.md): {found}"


def test_the_check_sees_a_foreign_name_and_ignores_quoted_ones() -> None:
    assert foreign_names("status", "nginx_log_dir ~ '/x'") == {"nginx_log_dir"}
    assert foreign_names("status", "'/usr/local/lib/flask_app/uwsgi_probe.py'") == set()
    assert foreign_names("status", "stack_base_dir ~ status_window_minutes") == set()
    assert foreign_names("nginx", "nginx_upstream_view.app_hosts") == set()
