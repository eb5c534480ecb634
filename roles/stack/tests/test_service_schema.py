"""A service's keys live in one schema (the stack role's argument spec), and the code uses exactly them.

Two promises, read from the roles' own files (every Jinja expression of every task, handler,
var file and template, as plugins/tests/test_role_boundaries.py reads them):

- every key of `stack_services[]` in the spec is used: read by a role (`item.data_dirs`,
  `app_switch_service.port`, `selectattr('static_dir')`) or by the controller code that
  resolves a service (plugins/filter, plugins/action, the roles' library and filter plugins,
  outside the checks themselves);
- every field a role reads from a service is a key of the spec or a field of the resolved
  service (docs/architecture.md, "### A resolved service").

Also: each rule of plugins/filter/inputs.py names a key of the spec (SERVICE_RULES,
ROUTE_RULES) or an option of its role (VARIABLE_RULES), and docs/routing.md's tables of the
keys are generated from both (.ci/service_docs.py --check).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import test_role_boundaries as boundaries
import yaml

PROJECT = Path(__file__).resolve().parents[3]
SPEC = yaml.safe_load((PROJECT / "roles" / "stack" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
OPTIONS = SPEC["argument_specs"]["main"]["options"]
SCHEMA = set(OPTIONS["stack_services"]["options"])

# The variables that hold a list of resolved services, and the loop variables and task
# inputs that hold one service.
SERVICE_LISTS = ("stack_resolved_services", "app_services", "app_switch_services", "uwsgi_health_services")
ONE_SERVICE = ("app_switch_service", "nginx_upstream_service", "app_switch.service")
# Lists whose items hold a service as `item` (a module's answer per service).
WRAPPED_LISTS = ("app_release_state.services",)
FIELD = r"\.(?:0\.)?([a-z_][a-z0-9_]*)\b(?!\s*\()|(?:\.0)?\[\s*['\"]([a-z_][a-z0-9_]*)['\"]\s*\]"
FILTERED = re.compile(
    r"(?:selectattr|rejectattr|subelements)\(\s*'([a-z_][a-z0-9_]*)'|attribute\s*=\s*'([a-z_][a-z0-9_]*)'"
)


def fields_of(name: str, expression: str) -> set[str]:
    """The fields read from `name` in an expression: name.field, name.0.field, name['field']."""
    found = re.findall(rf"(?<![\w.]){re.escape(name)}(?:{FIELD})", expression)
    return {attribute or key for attribute, key in found}


def list_fields(expression: str) -> set[str]:
    """Fields named by the filters right after a service list (`| selectattr('static_dir')`)."""
    chains = re.findall(
        rf"(?<![\w.])(?:{'|'.join(SERVICE_LISTS)})\b((?:\s*\|\s*(?:selectattr|rejectattr|map|subelements)\([^)]*\))+)",
        expression,
    )
    return {a or b for chain in chains for a, b in FILTERED.findall(chain)}


def _tasks(tasks: Any) -> Iterator[dict[str, Any]]:
    for task in tasks or []:
        if isinstance(task, dict):
            yield task
            for key in ("block", "rescue", "always"):
                yield from _tasks(task.get(key))


def role_reads() -> dict[str, set[str]]:
    """{field: {where}} for every field of a service read by a role."""
    reads: dict[str, set[str]] = {}

    def add(fields: set[str], where: str) -> None:
        for field in fields:
            reads.setdefault(field, set()).add(where)

    for role in boundaries.ROLES:
        base = PROJECT / "roles" / role
        files = [*base.glob("tasks/*.yml"), *base.glob("handlers/*.yml"), *base.glob("vars/*.yml")]
        for path in sorted(files):
            where = str(path.relative_to(PROJECT))
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for expression in boundaries.expressions_in(data):
                add(list_fields(expression), where)
                for name in ONE_SERVICE:
                    add(fields_of(name, expression), where)
            if "tasks" not in path.parts and "handlers" not in path.parts:
                continue
            for task in _tasks(data):
                loop = str(task.get("loop", ""))
                variable = (task.get("loop_control") or {}).get("loop_var", "item")
                if any(name in loop for name in WRAPPED_LISTS):
                    variable += ".item"
                elif not re.match(rf"{{{{\s*(?:{'|'.join(SERVICE_LISTS)})\b", loop):  # a loop over services
                    continue
                body = {key: value for key, value in task.items() if key != "loop"}
                for expression in boundaries.expressions_in(body):
                    add(fields_of(variable, expression), where)
                template = (task.get("ansible.builtin.template") or {}).get("src")
                if template:
                    source = (base / "templates" / template).read_text(encoding="utf-8")
                    for match in boundaries.JINJA.finditer(source):
                        add(fields_of(variable, match.group(1) or match.group(2)), f"{where} ({template})")
    return reads


# Controller code that resolves and ships a service; the checks of its shape
# (inputs.py) and the schema's reader read every key and say nothing about use.
CONTROLLER_CODE = [
    *sorted((PROJECT / "plugins" / "filter").glob("*.py")),
    *sorted((PROJECT / "plugins" / "action").glob("*.py")),
    *sorted(PROJECT.glob("roles/*/library/*.py")),
    *sorted(PROJECT.glob("roles/*/filter_plugins/*.py")),
]
NOT_USES = {"inputs.py", "schema.py"}
PYTHON_READ = re.compile(r"\[\s*\"([a-z_][a-z0-9_]*)\"\s*\]|\.get\(\s*\"([a-z_][a-z0-9_]*)\"")


def controller_reads() -> set[str]:
    return {
        a or b
        for path in CONTROLLER_CODE
        if path.name not in NOT_USES
        for a, b in PYTHON_READ.findall(path.read_text(encoding="utf-8"))
    }


def contract_fields() -> set[str]:
    """The fields of a resolved service, as docs/architecture.md lists them."""
    text = (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = re.split(r"\n#{2,3} ", text.split("### A resolved service", 1)[1], maxsplit=1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.MULTILINE))


def unused(schema: set[str], reads: set[str]) -> set[str]:
    return schema - reads


def unknown(reads: set[str], schema: set[str], contract: set[str]) -> set[str]:
    return reads - schema - contract


def test_every_key_of_a_service_is_used_by_a_role_or_the_code_that_resolves_it() -> None:
    assert unused(SCHEMA, set(role_reads()) | controller_reads()) == set(), (
        "keys of stack_services in roles/stack/meta/argument_specs.yml that nothing reads"
    )


def test_a_role_reads_only_fields_a_service_has() -> None:
    reads = role_reads()
    strays = {field: sorted(reads[field]) for field in unknown(set(reads), SCHEMA, contract_fields())}
    assert strays == {}, "fields read from a service that neither the spec nor docs/architecture.md declares"


def test_the_checks_see_what_they_promise() -> None:
    """Each check fails on what it must refuse: a key nothing reads, a field nobody declared."""
    assert unused(SCHEMA | {"colour"}, set(role_reads()) | controller_reads()) == {"colour"}
    assert fields_of("item", "{{ item.colour ~ item['size'] ~ item.0.shade ~ item.name.split(':') }}") == {
        "colour",
        "size",
        "shade",
        "name",
    }
    assert list_fields("stack_resolved_services | selectattr('colour') | map(attribute='name')") == {"colour", "name"}
    assert unknown({"colour", "port", "venv"}, SCHEMA, contract_fields()) == {"colour"}
    # The roles really are read: the fields every deploy uses are found where they are used.
    reads = role_reads()
    assert {"data_dirs", "port", "module", "static_dir", "venv"} <= set(reads)


def _inputs() -> Any:
    spec = importlib.util.spec_from_file_location("inputs_schema_test", PROJECT / "plugins" / "filter" / "inputs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rule_keys(rules: dict[str, str]) -> set[str]:
    return {re.split(r"\[\]\.|\.", key)[0] for key in rules}


def test_every_rule_names_a_key_of_the_spec() -> None:
    inputs = _inputs()
    assert _rule_keys(inputs.SERVICE_RULES) <= SCHEMA
    assert _rule_keys(inputs.ROUTE_RULES) <= set(OPTIONS["stack_routes"]["options"])
    nested = {key for key in inputs.SERVICE_RULES if "." in key}
    for key in nested:
        outer, inner = re.split(r"\[\]\.|\.", key)
        assert inner in OPTIONS["stack_services"]["options"][outer]["options"], key
    for name, shape in inputs.VARIABLE_RULES.items():
        role = name.split("_")[0]
        spec = yaml.safe_load((PROJECT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
        assert name in spec["argument_specs"]["main"]["options"], f"{name}: not an option of roles/{role}"
        assert shape in inputs.SHAPES, f"{name}: unknown shape {shape}"


def test_the_docs_tables_of_the_keys_are_generated_from_the_spec_and_the_rules() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT / ".ci" / "service_docs.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
