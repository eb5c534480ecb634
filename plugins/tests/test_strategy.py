"""The strategy (plugins/strategy/flask_app_linear.py): its remembered compile against Mitogen's module
scan, and an inventory's ssh host key settings as the ssh client reads them under Mitogen."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import ansible.executor.module_common
import ansible.modules
import pytest
from conftest import load

module_finder = pytest.importorskip("ansible_mitogen.module_finder")
MODULES = Path(ansible.modules.__file__).parent
BUILTIN = (ansible.executor.module_common._MODULE_UTILS_PATH,)


def scan(name: str) -> list[tuple[str, str, bool]]:
    return module_finder.scan(f"ansible_module_{name}", str(MODULES / f"{name}.py"), BUILTIN)


def test_the_module_scan_compiles_each_file_once_and_finds_the_same_module_utils(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASK_APP_MITOGEN", raising=False)
    # The builtin compile, as Mitogen calls it; the test's end removes whatever is set here.
    monkeypatch.setattr(module_finder, "compile", compile, raising=False)
    plain = {name: scan(name) for name in ("stat", "file", "command")}

    load("strategy/flask_app_linear.py", "flask_app_linear_under_test")
    remembered = module_finder.compile
    assert remembered is not compile, "the strategy did not give Mitogen's module scan a remembered compile"
    assert {name: scan(name) for name in ("stat", "file", "command")} == plain
    calls = remembered.cache_info()
    # The three modules share most of their module_utils: each of those was compiled once.
    assert calls.hits > calls.misses > 3, calls


class Inventory:
    """What Mitogen reads of a host's connection settings (ansible_mitogen.transport_config):
    host key checking and the ssh arguments (ssh_args, ansible_ssh_common_args,
    ansible_ssh_extra_args, joined); nothing else set."""

    def __init__(self, host_key_checking: bool, ssh_args: list[str]) -> None:
        self._host_key_checking, self._ssh_args = host_key_checking, ssh_args

    def host_key_checking(self) -> bool:
        return self._host_key_checking

    def ssh_args(self) -> list[str]:
        return self._ssh_args

    def remote_addr(self) -> str:
        return "web1.example"

    def __getattr__(self, name: str) -> Any:
        return lambda: None


def ssh_config_under_mitogen(monkeypatch: pytest.MonkeyPatch, inventory: Inventory) -> dict[str, str]:
    """The options the ssh client takes from the command Mitogen starts for this host, as `ssh -G`
    evaluates them (first value wins; -F /dev/null: no config file of this machine)."""
    connection = pytest.importorskip("ansible_mitogen.connection")
    mitogen_ssh = pytest.importorskip("mitogen.ssh")
    mitogen_parent = pytest.importorskip("mitogen.parent")
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client")
    # Whatever the strategy sets on Mitogen's ssh connection, the test's end puts back.
    monkeypatch.setattr(mitogen_ssh.Connection, "get_boot_command", mitogen_ssh.Connection.get_boot_command)
    monkeypatch.delenv("FLASK_APP_MITOGEN", raising=False)
    load("strategy/flask_app_linear.py", "flask_app_linear_under_test")
    # The remote Python bootstrap after the host name is Mitogen's business, not ssh's.
    monkeypatch.setattr(mitogen_parent.Connection, "get_boot_command", lambda self: ["python-bootstrap"])
    kwargs = connection._connect_ssh(inventory)["kwargs"]
    argv = mitogen_ssh.Connection(mitogen_ssh.Options(max_message_size=1, **kwargs), None).get_boot_command()
    assert argv[-2:] == ["web1.example", "python-bootstrap"], argv
    shown = subprocess.run(["ssh", "-G", "-F", "/dev/null", *argv[1:-1]], capture_output=True, text=True, check=True)
    return dict(line.partition(" ")[::2] for line in shown.stdout.splitlines())


@pytest.mark.parametrize(
    ("ssh_args", "strict"),
    [
        (["-o", "StrictHostKeyChecking=no"], "false"),
        (["-oStrictHostKeyChecking=accept-new"], "accept-new"),
        (["-o", "StrictHostKeyChecking no", "-o", "UserKnownHostsFile=/dev/null"], "false"),
    ],
)
def test_the_inventorys_strict_host_key_checking_is_the_one_ssh_uses(
    monkeypatch: pytest.MonkeyPatch, ssh_args: list[str], strict: str
) -> None:
    config = ssh_config_under_mitogen(monkeypatch, Inventory(host_key_checking=True, ssh_args=ssh_args))
    assert config["stricthostkeychecking"] == strict, config


def test_with_nothing_set_an_unknown_host_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ssh_config_under_mitogen(monkeypatch, Inventory(host_key_checking=True, ssh_args=["-o", "Port=2222"]))
    # ssh's default asks, and in batch mode nobody can answer: the connection is refused.
    assert (config["stricthostkeychecking"], config["batchmode"], config["port"]) == ("ask", "yes", "2222"), config


def test_host_key_checking_off_wins_over_the_ssh_arguments_as_in_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ansible's ssh connection puts StrictHostKeyChecking=no before ansible_ssh_common_args too.
    inventory = Inventory(host_key_checking=False, ssh_args=["-o", "StrictHostKeyChecking=yes"])
    assert ssh_config_under_mitogen(monkeypatch, inventory)["stricthostkeychecking"] == "false"
