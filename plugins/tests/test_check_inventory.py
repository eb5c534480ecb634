"""playbooks/check.yml: an inventory checked before any of its hosts exists.

Runs the real playbook with the venv's Ansible against inventories whose hosts
cannot be reached (documentation addresses): it must pass or refuse from the
inputs alone, for each supported Debian release, naming every host's refusals.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
EXAMPLE = ROOT / "inventory" / "production"
VAULT_PASSWORD = ROOT / "vault-password.example"


def check(inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    # Nothing may connect: the hosts' addresses (192.0.2.0/24) answer nobody, so a host that
    # were tried would be reported unreachable.
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(ROOT / "playbooks" / "check.yml")]
    argv += ["--vault-password-file", str(VAULT_PASSWORD), *extra]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)


@pytest.mark.parametrize("debian", ["12", "13"])
def test_the_example_inventory_passes_with_no_host_reachable(debian: str) -> None:
    run = check(EXAMPLE, "-e", f"check_debian={debian}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"www1.example.com (assumed Debian {debian}, 192.0.2.10): every input passed" in run.stdout
    assert "unreachable=0" in run.stdout and "failed=0" in run.stdout


def test_every_hosts_refusal_is_printed(tmp_path: Path) -> None:
    inventory = tmp_path / "staging"
    shutil.copytree(EXAMPLE, inventory)
    hosts = {
        "web": {"hosts": {"www1.example.com": {"ansible_host": "192.0.2.10"}}},
        "app": {
            "hosts": {
                "app1.example.com": {"ansible_host": "192.0.2.21", "uwsgi_harakiri": "soon"},
                "app2.example.com": {"ansible_host": "192.0.2.22", "nginx_client_max_body_size": "1m;"},
            }
        },
    }
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "www1.example.com.yml").write_text(
        "nginx_client_max_body_size: '1m; autoindex on'\n", encoding="utf-8"
    )
    run = check(inventory)
    assert run.returncode != 0
    assert "unreachable=0" in run.stdout
    # The front end's bad value, named with the value as given.
    assert "nginx_client_max_body_size must be" in run.stdout and "'1m; autoindex on'" in run.stdout
    # An app server's bad uWSGI value; the nginx value of an app-only host is not its concern.
    assert "uwsgi_harakiri" in run.stdout
    assert "failed=1" in run.stdout.split("PLAY RECAP")[-1]


def test_an_unsupported_release_is_refused() -> None:
    run = check(EXAMPLE, "-e", "check_debian=11")
    assert run.returncode != 0
    assert "check_debian must be 12 or 13, got" in run.stdout
