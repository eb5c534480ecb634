"""Every command the docs tell an operator to type runs as written.

The commands are the ansible-playbook, ansible, ansible-inventory, ansible-vault
and make lines of the fenced shell blocks of README.md and docs/*.md, and of the
usage lines in the playbooks' header comments (`#   ansible-playbook ...`),
with `\\` continuations joined. Each runs against the example inventory in the
read-only form of what it does:

- ansible-playbook: `--syntax-check`, `--list-hosts --list-tasks` (any
  --limit must leave hosts) and `ansible-inventory --list` with the same
  inventory and vault options (every variable loads: the vault opens);
- ansible: `--list-hosts` and the same `ansible-inventory --list`; ansible-inventory: as written (`--list` if it names
  no action);
- ansible-vault view/edit/rekey: `view` of the same file with the same
  `--vault-password-file`;
- make: `make -n` with the same targets and variables.

Values an operator would pick are checked against what the example allows:
`-e service=` names a service of the example, a release id has the shape the
playbooks accept, and no `<placeholder>` is left. A command that fails names
its file and line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import load

ROOT = Path(__file__).resolve().parents[2]
# The tools of the venv running the tests: what `.venv/bin/ansible-playbook`
# and a bare `ansible-playbook` (with the venv activated) mean in the docs.
BIN = Path(sys.executable).parent
EXAMPLE_INVENTORY = "inventory/production"
EXAMPLE_VAULT_PASSWORD = "vault-password.example"
TOOLS = ("ansible-playbook", "ansible-vault", "ansible-inventory", "ansible", "make")
SHELL_FENCES = {"", "sh", "bash", "shell", "console"}
# What one release id may look like, as the playbooks check it.
RELEASE = load("filter/inputs.py", "flask_app_inputs_for_docs").RELEASE


@dataclass(frozen=True)
class Command:
    where: str  # file:line of the command's first line
    env: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]

    @property
    def tool(self) -> str:
        return Path(self.argv[0]).name


def _commands_in(lines: list[str], where: str, first_line: int) -> Iterator[Command]:
    """The tool commands among shell lines (continuations joined, comments dropped)."""
    pending, start = "", 0
    for number, line in enumerate(lines, first_line):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text, pending = pending + line, ""
        try:
            words = shlex.split(text, comments=True)
        except ValueError as error:  # a quote spanning lines: a here-document, a multi-line string
            if any(Path(word).name in TOOLS for word in text.split()):
                raise ValueError(f"{where}:{start}: cannot read the command {text!r}: {error}") from error
            continue
        env = []
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env.append((name, value))
        if words and Path(words[0]).name in TOOLS:
            yield Command(f"{where}:{start}", tuple(env), tuple(words))


def _doc_commands() -> Iterator[Command]:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = doc.read_text(encoding="utf-8").splitlines()
        block: list[str] | None = None
        for number, line in enumerate(lines, 1):
            fence = re.match(r"\s*```(\S*)", line)
            if fence and block is None:
                block, block_start, language = [], number + 1, fence.group(1)
            elif fence:
                if language in SHELL_FENCES:
                    yield from _commands_in(block, str(doc.relative_to(ROOT)), block_start)
                block = None
            elif block is not None:
                block.append(line)
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        lines = playbook.read_text(encoding="utf-8").splitlines()
        # The header comment, up to the first play.
        header = lines[: next(i for i, line in enumerate(lines) if line.startswith("- "))]
        usage = [re.sub(r"^#\s{3}", "", line) if line.startswith("#   ") else "" for line in header]
        yield from _commands_in(usage, str(playbook.relative_to(ROOT)), 1)


COMMANDS = list(_doc_commands())


def _run(argv: list[str], env: tuple[tuple[str, str], ...]) -> subprocess.CompletedProcess[str]:
    executable = argv[0] if argv[0] == "make" else str(BIN / Path(argv[0]).name)
    return subprocess.run(
        [executable, *argv[1:]],
        cwd=ROOT,
        # As an operator's shell has it: no ANSIBLE_* from the test runner.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))},
            "PATH": f"{BIN}:{os.environ['PATH']}",
            **dict(env),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _option(argv: tuple[str, ...], *names: str) -> list[str]:
    """Every value given to one of the options, as `-x value` or `--xx=value`."""
    values = []
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif word.startswith(name + "=") and name.startswith("--"):
                values.append(word.split("=", 1)[1])
    return values


def _declared_services(doc: str) -> set[str]:
    """Services a doc declares itself (a yaml block with stack_services, as your-app.md's notes)."""
    path = ROOT / doc
    if path.suffix != ".md":
        return set()
    blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    declared = [(yaml.safe_load(block) or {}) for block in blocks if "stack_services:" in block]
    return {service["name"] for block in declared for service in block.get("stack_services", [])}


def _example_services() -> set[str]:
    """The service names the example deploys: the inventory's stack_services, else the role's."""
    services = None
    for vars_file in sorted((ROOT / EXAMPLE_INVENTORY / "group_vars").rglob("*.yml")):
        text = vars_file.read_text(encoding="utf-8")
        if not text.startswith("$ANSIBLE_VAULT"):
            services = (yaml.safe_load(text) or {}).get("stack_services", services)
    if services is None:
        defaults = yaml.safe_load((ROOT / "roles/stack/defaults/main.yml").read_text(encoding="utf-8"))
        services = defaults["stack_services"]
    return {service["name"] for service in services}


def _check_values(command: Command) -> list[str]:
    problems = [f"placeholder {word!r}: write a value the example allows" for word in command.argv if "<" in word]
    for extra in _option(command.argv, "-e", "--extra-vars"):
        name, _, value = extra.partition("=")
        if name == "service":
            known = _example_services() | _declared_services(command.where.split(":")[0])
            unknown = set(value.split(",")) - known
            if unknown:
                problems.append(f"-e service={value}: neither the example nor this doc has {sorted(unknown)}")
        if name in ("release", "rollback_release") and not RELEASE.fullmatch(value):
            problems.append(f"-e {extra}: not a release id the playbooks accept")
    return problems


def _checks(command: Command) -> list[list[str]]:
    """The read-only commands that prove the documented one runs."""
    argv = list(command.argv)
    if command.tool in ("ansible-playbook", "ansible"):
        # The variables of every host, as the run loads them: the vault must open.
        inventory_vars = ["ansible-inventory", "--list"]
        for option in ("-i", "--inventory", "--vault-password-file", "--vault-id"):
            inventory_vars += [word for value in _option(command.argv, option) for word in (option, value)]
        inventory_vars += [word for word in argv if word == "--ask-vault-pass"]
    if command.tool == "ansible-playbook":
        return [[*argv, "--syntax-check"], [*argv, "--list-hosts", "--list-tasks"], inventory_vars]
    if command.tool == "ansible":
        return [[*argv, "--list-hosts"], inventory_vars]
    if command.tool == "ansible-inventory":
        actions = {"--list", "--graph", "--host"}
        return [argv if actions & {word.split("=")[0] for word in argv} else [*argv, "--list"]]
    if command.tool == "make":
        return [["make", "-n", *argv[1:]]]
    # ansible-vault
    action = argv[1] if len(argv) > 1 else ""
    if action not in ("view", "edit", "rekey"):
        pytest.fail(f"{command.where}: this test cannot check `ansible-vault {action}`; document view, edit or rekey")
    files = [word for word in argv[2:] if word.endswith((".yml", ".yaml"))]
    passwords = _option(command.argv, "--vault-password-file")
    assert files and passwords, f"{command.where}: ansible-vault needs a vault file and --vault-password-file"
    return [[argv[0], "view", "--vault-password-file", passwords[0], *files]]


def test_the_docs_have_commands_of_every_kind() -> None:
    """The extraction itself works: the tools the docs rely on are all found."""
    assert {command.tool for command in COMMANDS} >= {"ansible-playbook", "ansible-vault", "make"}


# A check as it runs: its environment and its argv.
Check = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]
Runs = dict[Check, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def runs() -> Runs:
    """Every distinct check, run four at a time (each is mostly Ansible's start-up). A check
    that several commands share (most need the same `ansible-inventory --list`) runs once."""
    checks = {(command.env, tuple(check)) for command in COMMANDS for check in _checks(command)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(_run, list(key[1]), key[0]) for key in checks}
    return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("command", COMMANDS, ids=[command.where for command in COMMANDS])
def test_documented_command_runs_as_written(command: Command, runs: Runs) -> None:
    problems = _check_values(command)
    assert not problems, f"{command.where}: {shlex.join(command.argv)}\n" + "\n".join(problems)
    for check in _checks(command):
        run = runs[(command.env, tuple(check))]
        assert run.returncode == 0, (
            f"{command.where}: {shlex.join(command.argv)}\nfails as {shlex.join(check)}:\n"
            f"{run.stdout[-1500:]}{run.stderr[-1500:]}"
        )
        if "--list-hosts" in check:
            assert "hosts (0)" not in run.stdout, f"{command.where}: matches no host of the example\n{run.stdout}"


def test_a_command_without_the_vault_password_is_caught() -> None:
    """The bug this test was written for: a documented deploy that cannot open the vault."""
    (command,) = _commands_in(
        ["ansible-playbook -i inventory/production \\", "  playbooks/status.yml  # every host"], "example", 1
    )
    assert command.argv == ("ansible-playbook", "-i", "inventory/production", "playbooks/status.yml")
    failed = [check for check in _checks(command) if _run(check, command.env).returncode != 0]
    assert failed == [["ansible-inventory", "--list", "-i", "inventory/production"]]


def test_a_placeholder_or_an_unknown_service_is_caught() -> None:
    (command,) = _commands_in(
        [f"ansible-playbook -i {EXAMPLE_INVENTORY} playbooks/rollback.yml -e service=shop -e release=<id>"],
        "README.md",
        1,
    )
    problems = _check_values(command)
    assert len(problems) == 3, problems
