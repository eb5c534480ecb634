"""A compromised host cannot steer the controller through what it reports.

A real `site.yml` run (its up-front checks: `--tags always`) against a host whose fact
gathering is replaced by a module of the test: an honest one answers like a fresh
Debian 13 host; a hostile one adds a fact named like every input of every role (and
like the values the roles compute), pointing at controller paths. With facts kept
under `ansible_facts` (ansible.cfg), the hostile run must compute exactly what the
honest run computes and touch none of those paths. Odd values of the facts the roles
do read are refused, naming the fact or the variable built from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

# A module that answers fact gathering: the facts below, as JSON in its source.
FACTS_MODULE = """#!/usr/bin/python
import json
print(json.dumps({"changed": False, "ansible_facts": json.loads(%r)}))
"""

FRESH_DEBIAN = {
    "distribution": "Debian",
    "distribution_major_version": "13",
    "distribution_version": "13.2",
    "architecture": "x86_64",
    "fqdn": "evil.example",
    "default_ipv4": {"address": "127.0.0.1"},
    "all_ipv6_addresses": [],
    "python": {"executable": sys.executable},
    "processor_vcpus": 2,
}


def input_names() -> set[str]:
    names: set[str] = set()
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"].values():
            names |= set(entry.get("options", {}))
    # Values the roles compute or read besides their inputs.
    return names | {"stack_resolved_services", "stack_absent_services", "stack_inventory_dir", "app_build_dir"}


def hostile_facts(evil: Path) -> dict[str, Any]:
    """A fact for every input: controller paths under `evil`, a service of the host's own."""
    (evil / "src").mkdir(parents=True)
    (evil / "src" / "requirements.txt").write_text("flask\n", encoding="utf-8")
    (evil / "src" / "run.py").write_text("app = None\n", encoding="utf-8")
    facts: dict[str, Any] = {name: str(evil / name) for name in input_names()}
    facts |= {
        "stack_services": [{"name": "evil", "src": str(evil / "src"), "port": 9999, "files": [{"src": "/etc/shadow"}]}],
        "stack_routes": [{"path": "/", "service": "evil"}],
        "stack_git_cache": str(evil / "git"),
        "app_pip_mode": "offline",
        "nginx_tls_mode": "provided",
        "nginx_tls_certificate": "/etc/shadow",
        "firewall_enabled": False,
    }
    return facts


def write_inventory(tmp_path: Path, facts: dict[str, Any]) -> Path:
    library = tmp_path / "library"
    library.mkdir(parents=True)
    (library / "flask_app_test_facts.py").write_text(FACTS_MODULE % json.dumps(facts), encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (tmp_path / "app" / "run.py").write_text("app = None\n", encoding="utf-8")
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,
        "ansible_facts_modules": ["flask_app_test_facts"],
    }
    hosts = {"web": {"hosts": {"evil.example": host}}, "app": {"hosts": {"evil.example": None}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    good = {
        "app_secret_key": "a-test-key-of-the-inventory-not-a-secret",
        "stack_services": [{"name": "shop", "src": str(tmp_path / "app"), "port": 8080}],
        "stack_routes": [{"path": "/", "service": "shop"}],
        "stack_git_cache": str(tmp_path / "git"),
    }
    (inventory / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(good), encoding="utf-8")
    return inventory


def checks(inventory: Path) -> tuple[subprocess.CompletedProcess[str], list[tuple[str, Any]]]:
    """site.yml's up-front checks; every value they computed, task by task."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_LIBRARY": str(inventory.parent / "library"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
    }
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(ROOT / "playbooks" / "site.yml"), "--tags", "always"]
    run = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    computed = []
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get("evil.example", {})
            if task["task"]["name"] != "Gathering Facts":
                computed.append((task["task"]["name"], result.get("ansible_facts"), result.get("msg")))
    return run, computed


def test_facts_named_like_inputs_change_nothing(tmp_path: Path) -> None:
    honest_run, honest = checks(write_inventory(tmp_path / "honest", FRESH_DEBIAN))
    assert honest_run.returncode == 0, honest_run.stdout[-3000:] + honest_run.stderr[-2000:]
    evil = tmp_path / "evil"
    hostile_run, hostile = checks(write_inventory(tmp_path / "hostile", FRESH_DEBIAN | hostile_facts(evil)))
    assert hostile_run.returncode == 0, hostile_run.stdout[-3000:] + hostile_run.stderr[-2000:]
    # Same values computed, task by task, once the two runs' own directories are named alike.
    assert json.loads(json.dumps(hostile).replace(str(tmp_path / "hostile"), "<run>")) == json.loads(
        json.dumps(honest).replace(str(tmp_path / "honest"), "<run>")
    )
    # Nothing the host named was created on the controller.
    assert sorted(p.name for p in evil.iterdir()) == ["src"]
    assert not (tmp_path / "hostile" / "git").exists() or not any((tmp_path / "hostile" / "git").iterdir())


@pytest.mark.parametrize(
    ("fact", "value", "refusal"),
    [
        ("architecture", "x86_64 --log=/tmp/flask_app-pwned", "reports its architecture"),
        ("default_ipv4", {"address": "10.0.0.5\nInjected=1"}, "stack_private_address must be"),
        ("distribution_major_version", "../../../../etc/passwd", "supported (stack_supported_releases)"),
    ],
)
def test_odd_values_of_the_facts_read_are_refused(tmp_path: Path, fact: str, value: Any, refusal: str) -> None:
    run, _ = checks(write_inventory(tmp_path, FRESH_DEBIAN | {fact: value}))
    assert run.returncode != 0
    assert refusal in run.stdout


def test_a_controller_path_never_follows_a_fact_after_its_check() -> None:
    """Any module's result may carry facts, so a fact checked up front may change later in
    the run. The one fact that names controller paths and argv (the architecture, for the
    offline wheelhouse) is read once, by the check and the set_fact right after it."""
    readers = sorted(
        f"{path.relative_to(ROOT)}:{number}"
        for path in [
            *ROOT.glob("roles/*/*/*.yml"),
            *ROOT.glob("roles/*/templates/**/*.j2"),
            *ROOT.glob("playbooks/**/*.yml"),
        ]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "ansible_facts.architecture" in line
    )
    assert [reader.split(":")[0] for reader in readers] == ["roles/app/tasks/validate.yml"] * 3, readers
