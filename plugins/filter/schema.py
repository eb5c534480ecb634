"""The shape of a service and of a route: the stack role's argument spec, read in one place.

roles/stack/meta/argument_specs.yml declares every key of `stack_services[]` and
`stack_routes[]` (type, default, choices, required, nested options); Ansible checks an
inventory against it before the stack role's first task. Ansible does not put an argument
spec's defaults into the variables, so the code that resolves a service takes them from
here (`with_defaults`): a key's default is written once, in the spec. What a spec cannot
say (a port's range, a path that stays inside its tree) is a shape rule of
plugins/filter/inputs.py (SERVICE_RULES, ROUTE_RULES), keyed by the same names.

Read from this kit's own file (relative to this file), never from an inventory path.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = Path(__file__).resolve().parents[2] / "roles" / "stack" / "meta" / "argument_specs.yml"


@functools.cache
def _main_options() -> dict[str, Any]:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]


def options(variable: str) -> dict[str, Any]:
    """The nested options of a list variable of the stack role: stack_services or stack_routes."""
    return copy.deepcopy(_main_options()[variable]["options"])


def service_keys() -> frozenset[str]:
    """Every key a service may have."""
    return frozenset(_main_options()["stack_services"]["options"])


def route_keys() -> frozenset[str]:
    """Every key a route may have."""
    return frozenset(_main_options()["stack_routes"]["options"])


def service_defaults() -> dict[str, Any]:
    """The default of every service key whose option declares one (`static_dir`: None)."""
    return {
        key: copy.deepcopy(option["default"])
        for key, option in _main_options()["stack_services"]["options"].items()
        if "default" in option
    }


def with_defaults(service: dict[str, Any]) -> dict[str, Any]:
    """A service with every default filled in: the spec's, and `user`, which is its name
    unless given (the one default a spec cannot state, as it depends on another key)."""
    return {**service_defaults(), "user": service["name"], **service}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"flask_app_service_with_defaults": with_defaults}
