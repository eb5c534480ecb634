"""The packages role's promises (meta/argument_specs.yml): apt goes through the site's proxy
(/etc/apt/apt.conf.d/80flask_app-proxy, from the stack role's stack_http_proxy,
stack_https_proxy and stack_no_proxy as site.yml passes them), directly to the plain host
names of no_proxy only (apt knows no .domains or networks), in a file only root reads when
the proxy URL holds a password; with no proxy, the role removes that file and nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

PROXY_FILE = "packages/templates/etc/apt/apt.conf.d/80flask_app-proxy.j2"
TASKS = render.load_yaml(render.ROLES / "packages" / "tasks" / "main.yml")
[WRITE] = [task for task in TASKS if "ansible.builtin.template" in task]
[REMOVE] = [task for task in TASKS if task.get("ansible.builtin.file", {}).get("state") == "absent"]
NO_PROXY = ["localhost", "apt.internal.example", ".internal.example", "10.0.0.0/8", "fd00::/8"]


def converge(**inventory: Any) -> tuple[render.Play, str]:
    """site.yml's checks on app1 with the inventory's proxy, then the proxy file as written."""
    variables = host_variables("tcp")
    defaults = render.role_defaults()
    variables.update({name: defaults[name] for name in ("stack_http_proxy", "stack_https_proxy", "stack_no_proxy")})
    variables.update(inventory)
    play = render.check(variables)
    return play, render.render(play)[f"{PROXY_FILE}#0"]


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("//")]


def test_apt_goes_through_the_proxy_and_direct_to_the_plain_hosts_of_no_proxy() -> None:
    play, text = converge(
        stack_http_proxy="http://proxy.example:3128",
        stack_https_proxy="http://proxy.example:3129",
        stack_no_proxy=NO_PROXY,
    )
    assert play.true(WRITE["when"])
    assert settings(text) == [
        'Acquire::http::Proxy "http://proxy.example:3128";',
        'Acquire::https::Proxy "http://proxy.example:3129";',
        'Acquire::http::Proxy::localhost "DIRECT";',
        'Acquire::https::Proxy::localhost "DIRECT";',
        'Acquire::http::Proxy::apt.internal.example "DIRECT";',
        'Acquire::https::Proxy::apt.internal.example "DIRECT";',
    ]


@pytest.mark.parametrize(
    ("proxy", "mode"),
    [("http://proxy.example:3128", "0644"), ("http://deploy:s3cret@proxy.example:3128", "0640")],
    ids=["no-password", "password"],
)
def test_a_proxy_password_is_for_roots_eyes_only(proxy: str, mode: str) -> None:
    play, text = converge(stack_https_proxy=proxy)
    assert f'Acquire::https::Proxy "{proxy}";' in settings(text)
    assert play.value(WRITE["ansible.builtin.template"]["mode"]) == mode


def test_without_a_proxy_the_role_removes_its_own_file_only() -> None:
    play, _ = converge()
    assert not play.true(WRITE["when"])
    assert play.true(REMOVE["when"])
    assert REMOVE["ansible.builtin.file"]["path"] == WRITE["ansible.builtin.template"]["dest"]


@pytest.mark.skipif(not shutil.which("apt-config"), reason="apt-config (apt) is not installed on this controller")
def test_apt_reads_the_file_as_the_task_checks_it(tmp_path: Path) -> None:
    """The task writes the file only if `apt-config` reads it; apt then holds these values."""
    _, text = converge(stack_http_proxy="http://proxy.example:3128", stack_no_proxy=NO_PROXY)
    written = tmp_path / "80flask_app-proxy"
    written.write_text(text, encoding="utf-8")
    check = [str(written) if word == "%s" else word for word in WRITE["ansible.builtin.template"]["validate"].split()]
    dump = subprocess.run(check, capture_output=True, text=True, check=True).stdout.splitlines()
    assert 'Acquire::http::Proxy "http://proxy.example:3128";' in dump
    assert 'Acquire::http::Proxy::apt.internal.example "DIRECT";' in dump
