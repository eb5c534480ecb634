"""Bad input stops site.yml before anything on the host changes, with a message naming the variable.

Runs against the Debian 13 host of the unix scenario: every case is a real
`ansible-playbook site.yml` run with one bad variable; the host's config,
code and units must be byte-for-byte what they were, and the site must answer.
The cases come from plugins/tests/input_cases.py (ON_HOST); `make unit` runs all of them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
from support import PROJECT, playbook

WATCHED = "/etc/nginx /etc/uwsgi /etc/flask_app /etc/systemd/system /srv/flask_app /var/www/flask_app"


def _load_cases() -> ModuleType:
    """plugins/tests/input_cases.py: the cases `make unit` runs too (one list for both layers)."""
    spec = importlib.util.spec_from_file_location("input_cases", PROJECT / "plugins" / "tests" / "input_cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CASES = _load_cases()
# The cases that read the host or the controller, and one of each layer of checks; all of
# them run in-process in `make unit` (plugins/tests/test_input_cases.py).
ON_HOST = [case for case in _CASES.CASES if case[0] in _CASES.ON_HOST]


def fingerprint(host: Any) -> str:
    """Names, sizes, modes and contents of everything the roles manage on the host."""
    with host.sudo():
        listing = host.check_output(
            f"find {WATCHED} -xdev \\( -type f -o -type l \\) -printf '%p %s %m %l\\n' 2>/dev/null | sort; "
            f"find {WATCHED} -xdev -type f -exec md5sum {{}} + 2>/dev/null | sort"
        )
    return hashlib.sha256(listing.encode()).hexdigest()


@pytest.fixture(scope="module")
def input_host(host: Any) -> Iterator[str]:
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "unix" or not host.backend.host.endswith("-d13"):
        pytest.skip("the input checks run on the Debian 13 host of the unix scenario")
    yield host.backend.host


@pytest.mark.parametrize(("case", "extra", "fragments"), ON_HOST, ids=[case for case, _, _ in ON_HOST])
def test_bad_input_fails_before_anything_changes(
    host: Any, input_host: str, case: str, extra: dict[str, Any], fragments: list[str]
) -> None:
    before = fingerprint(host)
    run = playbook("site.yml", input_host, extra)
    assert run.returncode != 0, f"{case}: accepted\n{run.stdout[-2000:]}"
    output = run.stdout + run.stderr
    for fragment in fragments:
        assert fragment in output, f"{case}: no {fragment!r} in\n{output[-3000:]}"
    assert "changed=0" in run.stdout, run.stdout[-1500:]
    assert fingerprint(host) == before, f"{case}: the host changed"


@pytest.mark.parametrize("release", [".", "..", "../flask_app", "nonexistent-release", "current"])
def test_a_mistyped_rollback_release_deletes_nothing(
    host: Any, input_host: str, base_url: str, web: requests.Session, release: str
) -> None:
    before = fingerprint(host)
    run = playbook("rollback.yml", input_host, {"rollback_release": release})
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-2000:]
    assert "rollback_release must be" in output or f"no service keeps release {release}" in output, output[-3000:]
    assert "changed=0" in run.stdout, run.stdout[-1500:]
    assert fingerprint(host) == before, f"rollback_release={release!r}: the host changed"
    assert web.get(base_url + "/healthz", timeout=10).status_code == 200


def test_broken_nginx_setting_is_refused_and_the_old_config_keeps_serving(
    host: Any, input_host: str, base_url: str, web: requests.Session, ansible_vars: dict[str, Any]
) -> None:
    site = "/etc/nginx/sites-available/flask_app.conf"
    with host.sudo():
        site_before = host.file(site).md5sum
    run = playbook("site.yml", input_host, {"nginx_server_extra_config": "this_is_not_a_directive on;"}, "-v")
    assert run.returncode != 0
    assert 'unknown directive "this_is_not_a_directive"' in run.stdout + run.stderr
    with host.sudo():
        assert host.file(site).md5sum == site_before
        assert host.run("nginx -t").rc == 0
    assert web.get(base_url + "/healthz", timeout=10).status_code == 200
    # Even verbose, the run never printed the secret key.
    assert ansible_vars["app_secret_key"] not in run.stdout + run.stderr


def test_example_inventory_keeps_secrets_in_vault() -> None:
    inventory = PROJECT / "inventory" / "production"
    vault = inventory / "group_vars" / "all" / "vault.yml"
    assert vault.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;")
    assert "vault_app_secret_key" not in vault.read_text(encoding="utf-8")
    resolved = json.loads(
        subprocess.run(
            [
                "ansible-inventory",
                "-i",
                str(inventory),
                "--vault-password-file",
                str(PROJECT / "vault-password.example"),
                "--host",
                "www1.example.com",
            ],
            capture_output=True,
            text=True,
            check=True,
            # From the inventory's own directory: ansible-inventory also reads
            # group_vars/ next to the working directory (the scenario's, here).
            cwd=inventory,
            # As a user runs it: without the test runner's ANSIBLE_*/MOLECULE_* settings
            # (molecule's inventory variables would otherwise leak in).
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))},
                "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
            },
        ).stdout
    )
    secret = resolved["vault_app_secret_key"]
    assert len(secret) >= 16
    # The plain variable only points into the vault.
    assert resolved["app_secret_key"] == secret or "vault_app_secret_key" in resolved["app_secret_key"]
    assert secret not in (inventory / "group_vars" / "all" / "main.yml").read_text(encoding="utf-8")
