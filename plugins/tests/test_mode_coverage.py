"""Every documented mode is converged by a scenario on the current controller.

A mode no test converges is a mode that does not work. This test reads what the suite
converges on the current controller (the scenarios `make molecule` runs outside
LEGACY_SCENARIOS, Makefile): each scenario's hosts (molecule.yml), the values they get
(its group_vars and host_vars over the roles' defaults), and the modes the scenario tests
deploy themselves (the `CONVERGES` table of a test module, which also decides where that
test runs). It fails naming every choice of every role's `main` argument spec, and every
documented source, install, TLS and Debian mode, that none of them converges.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "molecule"
# The groups of the stack: a scenario's other hosts (its proxy) are not converged.
STACK_GROUPS = {"web", "app"}


@dataclass(frozen=True)
class Host:
    scenario: str
    name: str
    release: str
    values: dict[str, Any]


def makefile_list(name: str) -> list[str]:
    match = re.search(rf"^{name} \?= (.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"Makefile has no {name}"
    return match.group(1).split()


def current_scenarios() -> list[str]:
    legacy = set(makefile_list("LEGACY_SCENARIOS"))
    return [s for s in makefile_list("SCENARIOS") if s not in legacy]


def role_defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for spec in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        options = yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"]["main"].get("options", {})
        defaults |= {name: option["default"] for name, option in options.items() if "default" in option}
    return defaults


def choices() -> dict[str, list[Any]]:
    """Every inventory input with a closed set of values: the `main` entry points' choices.
    (Other entry points are wired by the roles and playbooks, not chosen in an inventory.)"""
    found: dict[str, list[Any]] = {}
    for spec in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        options = yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"]["main"].get("options", {})
        found |= {name: option["choices"] for name, option in options.items() if "choices" in option}
    return found


def vars_files(directory: Path, name: str) -> dict[str, Any]:
    """What Ansible reads for `name` in a group_vars or host_vars directory: name.yml, name/*.yml."""
    values: dict[str, Any] = {}
    paths = [directory / f"{name}.yml", *sorted((directory / name).glob("*.yml"))]
    for path in paths:
        if path.is_file():
            values |= yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return values


def hosts(scenario: str) -> Iterator[Host]:
    directory = MOLECULE / scenario
    molecule = yaml.safe_load((directory / "molecule.yml").read_text(encoding="utf-8"))
    links = molecule["provisioner"].get("inventory", {}).get("links", {})
    group_vars = directory / links.get("group_vars", "group_vars")
    host_vars = directory / links.get("host_vars", "host_vars")
    defaults = role_defaults()
    for platform in molecule["platforms"]:
        groups = set(platform.get("groups", []))
        if not groups & STACK_GROUPS:
            continue
        release = re.search(r"(\d+)\}?$", platform["image"])
        assert release, f"{scenario}: no Debian release in the image of {platform['name']}"
        values = dict(defaults) | vars_files(group_vars, "all")
        for group in sorted(groups):
            values |= vars_files(group_vars, group)
        values |= vars_files(host_vars, platform["name"])
        yield Host(scenario, platform["name"], release.group(1), values)


def declared_modes() -> Iterator[tuple[str, str, str]]:
    """(scenario, host name suffix, mode) of each test module's CONVERGES table."""
    for module in sorted(MOLECULE.glob("*/tests/test_*.py")):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "CONVERGES" for t in node.targets):
                scenario, suffix, modes = ast.literal_eval(node.value)
                for mode in modes:
                    yield scenario, suffix, mode


def install_kinds(host: Host, src: Any) -> set[str]:
    """What installs a scenario's `src` tree: its requirements.txt or pyproject.toml."""
    if not isinstance(src, str):
        return set()
    scenario_dir = str(MOLECULE / host.scenario)
    path = Path(
        src.replace("{{ playbook_dir }}", str(ROOT / "playbooks")).replace(
            "{{ lookup('env', 'MOLECULE_SCENARIO_DIRECTORY') }}", scenario_dir
        )
    )
    if (path / "requirements.txt").is_file():
        return {"requirements"}
    if (path / "pyproject.toml").is_file():
        offline = host.values.get("app_pip_mode") == "offline"
        return {"pyproject-offline" if offline else "pyproject"}
    return set()


def converged() -> set[str]:
    """Every mode converged on the current controller, as `kind:value` strings."""
    found: set[str] = set()
    current = current_scenarios()
    every_host = [host for scenario in current for host in hosts(scenario)]
    for host in every_host:
        found.add(f"debian:{host.release}")
        found |= {f"{name}:{host.values[name]}" for name in choices() if isinstance(host.values.get(name), str)}
        if host.values.get("nginx_tls_mode") == "provided":
            given = "content" if host.values.get("nginx_tls_certificate_content") else "files"
            found |= {f"tls:provided-{given}", f"tls:provided-debian-{host.release}"}
        for service in host.values.get("stack_services") or []:
            found |= {f"source:{key}" for key in ("src", "git", "artifact") if key in service}
            found |= {f"install:{kind}" for kind in install_kinds(host, service.get("src"))}
    for scenario, suffix, mode in declared_modes():
        if scenario in current and any(h.scenario == scenario and h.name.endswith(suffix) for h in every_host):
            found.add(mode)
    return found


DOCUMENTED = {
    # docs/debian-releases.md
    "debian:12",
    "debian:13",
    # docs/security.md: a certificate of your own as files or as Vault content, on both releases
    "tls:provided-files",
    "tls:provided-content",
    "tls:provided-debian-12",
    "tls:provided-debian-13",
    # docs/your-app.md and docs/routing.md: where the code comes from, what installs it
    "source:src",
    "source:git",
    "source:artifact",
    "install:requirements",
    "install:pyproject",
    "install:pyproject-offline",
}


def test_every_choice_and_documented_mode_is_converged_on_the_current_controller() -> None:
    wanted = DOCUMENTED | {f"{name}:{value}" for name, values in choices().items() for value in values}
    missing = sorted(wanted - converged())
    assert not missing, (
        f"converged by no scenario on the current controller ({', '.join(current_scenarios())}): {', '.join(missing)}"
    )


def test_the_reader_finds_what_the_scenarios_set() -> None:
    """The reader itself: the scenarios' hosts and a value each sets, as molecule.yml says."""
    found = {
        (host.scenario, host.name): host for scenario in ("default", "unix", "cluster") for host in hosts(scenario)
    }
    assert found[("unix", "flask-app-unix-d12")].release == "12"
    assert found[("unix", "flask-app-unix-d12")].values["app_pip_mode"] == "offline"
    assert found[("cluster", "flask-app-cluster-app2")].release == "12"
    assert ("cluster", "flask-app-cluster-proxy") not in found
    assert found[("default", "flask-app-default-d13")].values["stack_socket_mode"] == "tcp"
