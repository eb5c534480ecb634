"""Task files meet only through declared entry points, documented facts and the resolved service.

Three promises of docs/architecture.md, read from the YAML and templates themselves:

- a registered variable is read only in the task file that registers it (or a template that
  file renders): a result that crosses files, or plays, is a fact the producing file sets,
  named `RV(fact)` in its role's meta/argument_specs.yml;
- every task file a playbook or another role calls with `tasks_from` is an entry point of that
  role's argument spec, under the name the caller spells (Ansible validates the call against
  it only then);
- no role spells a service's host path by hand: `releases/<id>`, `/run/<name>/...`, the env
  file, app.ini, the unit file, `current` and `previous` are fields of the resolved service
  (plugins/filter/releases.py, host_paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

# The one reader of Jinja expressions in YAML (every {{ }}, {% %} and when:-style key).
from test_role_boundaries import JINJA, QUOTED, expressions_in

PROJECT = Path(__file__).resolve().parents[2]
# A variable, not an attribute (item.release is a field of a value).
NAME = re.compile(r"(?<![.\w])[a-z_][a-z0-9_]*\b")
ROLE_ACTIONS = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}
# The stack role's facts are the contract every role reads: docs/architecture.md names each,
# enforced by roles/stack/tests/test_stack_contract.py.
CONTRACT_ROLES = {"stack"}
# A service's host path written by hand instead of read from the resolved service. Each
# pattern is a spelling the roles used before the fields existed.
HAND_SPELLED = {
    "a release directory (release_path, or releases_path ~ '/' ~ id)": re.compile(
        r"/releases/(?:{|' ~)|['\"]/releases/?['\"]"
    ),
    "the runtime directory (runtime_dir, socket_path, stats_socket, master_fifo, logreopen_file)": re.compile(
        r"/run/(?:{|' ~)"
    ),
    "the environment file (env_file)": re.compile(r"/etc/flask_app/(?:{|' ~)"),
    "app.ini (ini_file)": re.compile(r"/etc/uwsgi/(?:{|' ~|['\"])"),
    "the unit file (unit_file)": re.compile(r"/etc/systemd/system/(?:{|' ~|['\"])"),
    "current or previous (current_path, previous_path)": re.compile(
        r"}/(?:current|previous)\b|['\"]/(?:current|previous)['\"]"
    ),
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rel(root: Path, path: Path) -> str:
    return str(path.relative_to(root))


def names_in(expressions: Iterator[str]) -> set[str]:
    return {name for expression in expressions for name in NAME.findall(QUOTED.sub("", expression))}


def tasks_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping of a task file or playbook (tasks, blocks, plays), depth first."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from tasks_in(inner)
    elif isinstance(value, list):
        for item in value:
            yield from tasks_in(item)


def task_files(root: Path) -> list[Path]:
    return sorted(
        [*root.glob("roles/*/tasks/**/*.yml"), *root.glob("roles/*/handlers/*.yml"), *root.glob("playbooks/**/*.yml")]
    )


def readers(root: Path) -> dict[str, set[str]]:
    """The names each file reads: task files, playbooks, vars, defaults and templates."""
    found = {rel(root, path): names_in(expressions_in(load(path))) for path in task_files(root)}
    for path in [*root.glob("roles/*/vars/*.yml"), *root.glob("roles/*/defaults/*.yml")]:
        found[rel(root, path)] = names_in(expressions_in(load(path)))
    for path in root.glob("roles/*/templates/**/*.j2"):
        text = re.sub(r"{#.*?#}", "", path.read_text(encoding="utf-8"), flags=re.S)
        found[rel(root, path)] = names_in(m.group(1) or m.group(2) for m in JINJA.finditer(text))
    return found


def renderers(root: Path, template: Path) -> set[str]:
    """The task files of its role that name the template (src:, lookup('template', ...))."""
    role = template.parents[len(template.relative_to(root).parts) - 3]
    name = str(template.relative_to(role / "templates"))
    return {rel(root, path) for path in role.glob("tasks/**/*.yml") if name in path.read_text(encoding="utf-8")}


def registered_reads_elsewhere(root: Path) -> list[str]:
    """'name registered in A, read in B' for every registered variable read outside its file."""
    registered = {
        rel(root, path): {task["register"] for task in tasks_in(load(path)) if isinstance(task.get("register"), str)}
        for path in task_files(root)
    }
    crossings = []
    for reader, names in readers(root).items():
        for producer, produced in registered.items():
            if reader == producer:
                continue
            if reader.endswith(".j2") and renderers(root, root / reader) <= {producer}:
                continue  # a template the producing file renders, with its results
            crossings += [f"{name} registered in {producer}, read in {reader}" for name in sorted(produced & names)]
    return sorted(crossings)


def entry_points(root: Path, role: str) -> dict[str, Any]:
    path = root / "roles" / role / "meta" / "argument_specs.yml"
    return load(path)["argument_specs"] if path.exists() else {}


def called_entry_points(root: Path) -> list[tuple[str, str, str]]:
    """(caller, role, tasks_from) for every include_role/import_role with tasks_from; a
    templated tasks_from ("{{ batch_switch }}") counts each value its variable is given."""
    given: dict[str, set[str]] = {}
    for path in task_files(root):
        for task in tasks_in(load(path)):
            for key, value in (task.get("vars") or {}).items() if isinstance(task.get("vars"), dict) else []:
                if isinstance(value, str):
                    given.setdefault(str(key), set()).add(value)
    calls = []
    for path in task_files(root):
        for task in tasks_in(load(path)):
            for action in ROLE_ACTIONS & set(task):
                args = task[action]
                if not isinstance(args, dict) or "tasks_from" not in args:
                    continue
                spelled = str(args["tasks_from"])
                variable = re.fullmatch(r"{{\s*(\w+)\s*}}", spelled)
                for tasks_from in sorted(given.get(variable.group(1), set())) if variable else [spelled]:
                    calls.append((rel(root, path), str(args["name"]), tasks_from))
    return calls


def undeclared_entry_points(root: Path) -> list[str]:
    return sorted(
        f"{caller}: {role} tasks_from {tasks_from}"
        + ("" if (root / "roles" / role / "tasks" / tasks_from).is_file() else " (no such task file)")
        for caller, role, tasks_from in called_entry_points(root)
        if tasks_from not in entry_points(root, role) or not (root / "roles" / role / "tasks" / tasks_from).is_file()
    )


def undocumented_facts(root: Path) -> list[str]:
    """Facts a role's task file sets and another file reads, not named RV(fact) in its specs."""
    read = readers(root)
    missing = []
    for specs in sorted(root.glob("roles/*/meta/argument_specs.yml")):
        role = specs.parent.parent.name
        if role in CONTRACT_ROLES:
            continue
        documented = set(re.findall(r"RV\((\w+)\)", specs.read_text(encoding="utf-8")))
        for path in sorted((root / "roles" / role).glob("tasks/**/*.yml")):
            for task in tasks_in(load(path)):
                facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
                for fact in facts if isinstance(facts, dict) else {}:
                    others = [reader for reader, names in read.items() if fact in names and reader != rel(root, path)]
                    if others and fact not in documented:
                        missing.append(f"{rel(root, path)} sets {fact}, read by {', '.join(sorted(others))}")
    return missing


def hand_spelled_paths(root: Path) -> list[str]:
    files = [
        path
        for pattern in ("tasks/**/*.yml", "handlers/*.yml", "vars/*.yml", "defaults/*.yml", "templates/**/*.j2")
        for path in root.glob(f"roles/*/{pattern}")
    ]
    files += [*root.glob("roles/*/library/*.py"), *root.glob("roles/*/filter_plugins/*.py")]
    return sorted(
        f"{rel(root, path)}:{number}: {what}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for what, pattern in HAND_SPELLED.items()
        if pattern.search(line)
    )


def test_no_task_file_reads_a_variable_registered_in_another() -> None:
    crossings = registered_reads_elsewhere(PROJECT)
    assert not crossings, f"set a documented fact in the producing file instead: {crossings}"


def test_a_fact_read_in_another_file_is_a_documented_output() -> None:
    missing = undocumented_facts(PROJECT)
    assert not missing, f"name each as RV(fact) in the entry point's description: {missing}"


def test_every_task_file_called_with_tasks_from_is_a_declared_entry_point() -> None:
    assert called_entry_points(PROJECT), "no include_role/import_role with tasks_from found: the parser is broken"
    undeclared = undeclared_entry_points(PROJECT)
    assert not undeclared, f"add each to the role's meta/argument_specs.yml, named as called: {undeclared}"


def test_no_role_spells_a_service_path_by_hand() -> None:
    found = hand_spelled_paths(PROJECT)
    assert not found, f"read the field of the resolved service instead: {found}"


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """Each check, on a small tree with the fault it looks for."""
    role = tmp_path / "roles" / "r"
    (role / "tasks").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "meta").mkdir()
    (role / "tasks" / "a.yml").write_text(
        "- ansible.builtin.command: {argv: [x]}\n  register: r_out\n"
        "- ansible.builtin.template: {src: t.j2, dest: /x}\n"
        "- ansible.builtin.set_fact: {r_fact: '{{ r_out.rc }}'}\n",
        encoding="utf-8",
    )
    (role / "templates" / "t.j2").write_text("{{ r_out.stdout }}\n", encoding="utf-8")
    (role / "tasks" / "b.yml").write_text(
        "- ansible.builtin.debug: {msg: '{{ r_fact }}'}\n  when: r_out is changed\n", encoding="utf-8"
    )
    (role / "tasks" / "c.yml").write_text(
        "- ansible.builtin.file: {path: '{{ item.dir }}/current'}\n", encoding="utf-8"
    )
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main: {short_description: x, description: [Sets RV(r_fact).]}\n  a.yml: {}\n",
        encoding="utf-8",
    )
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "p.yml").write_text(
        "- hosts: all\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: r, tasks_from: '{{ step }}'}\n      vars: {step: b.yml}\n"
        "    - ansible.builtin.import_role: {name: r, tasks_from: a.yml}\n",
        encoding="utf-8",
    )
    assert registered_reads_elsewhere(tmp_path) == [
        "r_out registered in roles/r/tasks/a.yml, read in roles/r/tasks/b.yml"
    ]
    assert undeclared_entry_points(tmp_path) == ["playbooks/p.yml: r tasks_from b.yml"]
    assert undocumented_facts(tmp_path) == []
    (role / "meta" / "argument_specs.yml").write_text("argument_specs:\n  main: {}\n", encoding="utf-8")
    assert undocumented_facts(tmp_path) == ["roles/r/tasks/a.yml sets r_fact, read by roles/r/tasks/b.yml"]
    assert [found.split(": ")[1] for found in hand_spelled_paths(tmp_path)] == [
        "current or previous (current_path, previous_path)"
    ]
