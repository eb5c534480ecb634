"""site.yml's up-front checks and the roles' templates, run in-process with Ansible's own templating.

`check(variables)` walks the pre_tasks of playbooks/site.yml as Ansible would (blocks,
`import_role` of each role's validate.yml or main.yml, `when`, task `vars`), evaluating
every assert, argument spec, set_fact and include_vars; it returns the first refusal's
message, or None. `render(variables)` then renders every template of the roles with the
facts the stack role set. Host reads (the CPU count, getent) come from the variables the
caller gives (`registered`, `ansible_facts`), as a host would answer.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import filter_loader, init_plugin_loader, test_loader
from ansible.template import Templar, trust_as_template
from release_step import step

PROJECT = Path(__file__).resolve().parents[2]
ROLES = PROJECT / "roles"
ROLE_NAMES = ("stack", "packages", "app", "uwsgi", "firewall", "nginx", "monitoring")

init_plugin_loader()
for directory in [PROJECT / "plugins" / "filter", *ROLES.glob("*/filter_plugins")]:
    filter_loader.add_directory(str(directory))
test_loader.add_directory(str(PROJECT / "plugins" / "test"))
LOADER = DataLoader()
# Where the model's release step packs archives and static trees (not the project's .cache).
BUILD_DIR = tempfile.mkdtemp(prefix="flask_app-render-build-")
TEMPLAR = Templar(loader=LOADER)


_compile = jinja2.Environment.compile
_compiled: dict[tuple[Any, ...], Any] = {}


def _compile_once(environment: jinja2.Environment, source: Any, *args: Any, **kwargs: Any) -> Any:
    """Jinja's compile, remembered: the test templates the same few hundred expressions
    thousands of times, and compiling is 3/4 of the time. The code depends only on the
    source and the syntax options; filters are looked up when it runs."""
    if not isinstance(source, str):
        return _compile(environment, source, *args, **kwargs)
    syntax = (environment.trim_blocks, environment.lstrip_blocks, environment.keep_trailing_newline)
    key = (type(environment), str(source), syntax, args, tuple(sorted(kwargs.items())))
    if key not in _compiled:
        _compiled[key] = _compile(environment, source, *args, **kwargs)
    return _compiled[key]


_compile_expression = jinja2.Environment.compile_expression
_expressions: dict[tuple[Any, ...], Any] = {}


def _compile_expression_once(environment: jinja2.Environment, source: str, *args: Any) -> Any:
    """The same for the conditions and expressions of the tasks, per environment."""
    key = (id(environment), str(source), args)
    if key not in _expressions:
        _expressions[key] = _compile_expression(environment, source, *args)
    return _expressions[key]


jinja2.Environment.compile = _compile_once  # type: ignore[method-assign]
jinja2.Environment.compile_expression = _compile_expression_once  # type: ignore[method-assign]


def trusted(data: Any) -> Any:
    """Strings from the project's own files are templates, as Ansible treats them."""
    if isinstance(data, str):
        return trust_as_template(data)
    if isinstance(data, dict):
        return {key: trusted(value) for key, value in data.items()}
    if isinstance(data, list):
        return [trusted(value) for value in data]
    return data


@functools.cache
def load_yaml(path: Path) -> Any:
    """The project's YAML, read once; callers never change what it returns."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def role_defaults() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for role in ROLE_NAMES:
        defaults = ROLES / role / "defaults" / "main.yml"
        merged.update(trusted(load_yaml(defaults) or {}))
        internal = ROLES / role / "vars" / "main.yml"
        if internal.exists():
            merged.update(trusted(load_yaml(internal) or {}))
    return merged


def argument_spec(role: str) -> dict[str, Any]:
    return load_yaml(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


class Refused(Exception):
    """A check refused the input; the message is what the run would print."""


class Play:
    """One host's variables, changed by the tasks as a play would change them."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables
        # The name of every task the walk came to, run or skipped by its own `when` (test_render.py).
        self.reached: list[str] = []

    def templar(self, extra: dict[str, Any] | None = None) -> Templar:
        # One Templar for every run: a new one looks every filter up again (half the time).
        TEMPLAR.available_variables = {**self.variables, **(extra or {})}
        return TEMPLAR

    def value(self, expression: Any, extra: dict[str, Any] | None = None) -> Any:
        return self.templar(extra).template(trusted(expression))

    def true(self, condition: Any, extra: dict[str, Any] | None = None) -> bool:
        conditions = condition if isinstance(condition, list) else [condition]
        templar = self.templar(extra)
        return all(templar.evaluate_conditional(trusted(c)) for c in conditions)

    def run(self, tasks: list[dict[str, Any]], role: str | None = None) -> None:
        for task in tasks:
            self.run_task(task, role)

    def run_task(self, task: dict[str, Any], role: str | None) -> None:
        extra = trusted(task.get("vars", {}))
        if role:
            extra = {"role_path": str(ROLES / role), **extra}
        module = next((key for key in task if key.startswith("ansible.builtin.")), None)
        if "block" not in task and module not in ("ansible.builtin.import_role", "ansible.builtin.import_tasks"):
            self.reached.append(task["name"])
        if "when" in task and not self.true(task["when"], extra):
            return
        if "block" in task:
            self.run(task["block"], role)
        elif module == "ansible.builtin.import_role":
            name = task[module]["name"]
            tasks_from = task[module].get("tasks_from", "main.yml")
            # The task's vars hold for every task of the import (the playbook wiring a role's inputs).
            wired = {key: self.value(value, extra) for key, value in task.get("vars", {}).items()}
            shadowed = {key: self.variables[key] for key in wired if key in self.variables}
            self.variables.update(wired)
            try:
                if tasks_from == "main.yml":  # Ansible checks the argument spec of a role's main entry point
                    self.validate_spec(argument_spec(name))
                self.run(load_yaml(ROLES / name / "tasks" / tasks_from), name)
            finally:
                for key in wired:
                    self.variables.pop(key)
                self.variables.update(shadowed)
        elif module == "ansible.builtin.import_tasks":  # a task file of the playbooks (playbooks/tasks/)
            self.run(load_yaml(PROJECT / "playbooks" / str(task[module])), role)
        elif module == "ansible.builtin.assert":
            if not self.true(task[module]["that"], extra):
                raise Refused(str(self.value(task[module].get("fail_msg", "assertion failed"), extra)))
        elif module == "ansible.builtin.validate_argument_spec":
            self.validate_spec(self.value(task[module]["argument_spec"], extra))
        elif module == "ansible.builtin.set_fact":
            self.variables.update({key: self.value(value, extra) for key, value in task[module].items()})
        elif module == "ansible.builtin.include_vars":
            path = ROLES / str(role) / "vars" / str(self.value(task[module]["file"], extra))
            self.variables.update(trusted(load_yaml(path)))
        elif module == "ansible.builtin.group_by":
            # The caller's groups stand for the other hosts of the run, which group this one with them.
            key = str(self.value(task[module]["key"], extra))
            members = [*self.variables["groups"].get(key, []), self.variables["inventory_hostname"]]
            self.variables["groups"] = {**self.variables["groups"], key: list(dict.fromkeys(members))}
        elif "flask_app_release" in task:  # the release step, for this one host, into a build dir of the tests
            git_cache = str(self.value(task["flask_app_release"]["git_cache"], extra))
            manifest = step.build_manifest([self.variables["stack_release_request"]], git_cache, BUILD_DIR)
            self.variables[task["register"]] = {"changed": False, "manifest": manifest}
        elif module in ("ansible.builtin.command", "ansible.builtin.getent"):
            if "register" in task:  # a read of the host: its answer was given
                self.variables[task["register"]] = self.variables["registered"][task["register"]]
        else:
            raise AssertionError(f"the model does not know {module} (task {task.get('name')!r})")

    def validate_spec(self, spec: dict[str, Any]) -> None:
        provided = {name: self.value(self.variables[name]) for name in spec if name in self.variables}
        result = ArgumentSpecValidator(spec).validate(provided)  # it validates a copy
        if result.error_messages:
            raise Refused(" ".join(result.error_messages))


def check(variables: dict[str, Any]) -> Play:
    """site.yml's pre_tasks on one host; raises Refused with the run's message."""
    play = Play(variables)
    site = load_yaml(PROJECT / "playbooks" / "site.yml")[0]
    play.variables.update(trusted(site.get("vars", {})))
    play.run(site["pre_tasks"])
    return play


TEMPLATES: dict[str, tuple[str, str]] = {
    # template: (file kind, what the loop item is)
    "packages/templates/etc/apt/apt.conf.d/80flask_app-proxy.j2": ("apt", ""),
    "app/templates/etc/flask_app/service.env.j2": ("env", "service"),
    "app/templates/etc/flask_app/build-proxy.env.j2": ("env", ""),
    "uwsgi/templates/etc/uwsgi/app.ini.j2": ("ini", "service"),
    "uwsgi/templates/etc/systemd/system/uwsgi-service.service.j2": ("unit", "service"),
    "uwsgi/templates/etc/logrotate.d/uwsgi.j2": ("logrotate", ""),
    "nginx/templates/etc/nginx/nginx.conf.j2": ("nginx", ""),
    "nginx/templates/etc/nginx/sites-available/site.conf.j2": ("nginx", ""),
    "nginx/templates/etc/nginx/flask_app-upstreams/service.conf.j2": ("nginx", "service"),
    "nginx/templates/etc/nginx/conf.d/flask_app-static.conf.j2": ("nginx", ""),
    "nginx/templates/etc/logrotate.d/nginx.j2": ("logrotate", ""),
    "nginx/templates/usr/local/sbin/nginx-check-site.j2": ("shell", ""),
    "firewall/templates/etc/flask_app/firewall.nft.j2": ("nft", ""),
    "firewall/templates/etc/systemd/system/flask_app-firewall.service.j2": ("unit", ""),
    "monitoring/templates/etc/default/exporter.j2": ("env", "exporter"),
}

# The loop variable of a template's task when it is not `item`.
LOOP_VARS = {"nginx/templates/etc/nginx/flask_app-upstreams/service.conf.j2": "nginx_upstream_service"}


@functools.cache
def template_source(template: str) -> str:
    return (ROLES / template).read_text(encoding="utf-8")


def render_template(play: Play, template: str, item: Any = None, task_vars: dict[str, Any] | None = None) -> str:
    """One template as its task writes it on this host, for one loop item (and the task's vars)."""
    source = trust_as_template(template_source(template))
    loop_var = LOOP_VARS.get(template, "item")
    templar = play.templar({**(task_vars or {}), loop_var: item, "ansible_managed": "Ansible managed"})
    return str(templar.template(source, escape_backslashes=False, overrides={"trim_blocks": True}))


def render(play: Play) -> dict[str, str]:
    """Every template as the roles write it on this host: {template[#item]: text}."""
    # The inputs site.yml wires into its roles (`roles:` entries' vars).
    for entry in load_yaml(PROJECT / "playbooks" / "site.yml")[0]["roles"]:
        play.variables.update({key: play.value(value) for key, value in entry.get("vars", {}).items()})
    items = {
        "service": play.variables["stack_resolved_services"],
        "exporter": play.value("{{ monitoring_exporters }}"),
        "": [None],
    }
    rendered = {}
    for template, (_, item_kind) in TEMPLATES.items():
        for index, item in enumerate(items[item_kind]):
            rendered[f"{template}#{index}"] = render_template(play, template, item)
    return rendered
