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

Messages: every message of the kit that the docs quote is one the code prints.
A quoted message is a blockquote holding one code span (it may span lines, and
sit in a list item):

    > `stack_services[1] (api).port must be a port number 1-65535, got 70000.`

Messages of other programs (nginx, uWSGI, pip, Ansible itself) are quoted
inline, never so. The quote must be found in one string of roles/, playbooks/
or plugins/ (tests excluded): a YAML string, a Python string or f-string.
Where the code interpolates (`{{ ... }}`, `{% ... %}`, an f-string's `{...}`,
`%s`), the quote may show any value of up to a few words; where the quote says
`<placeholder>`, `…` or `...`, it may leave out any part of the code's text.
A quote starts and ends in the code's own words or at the message's ends, so
that a value in its middle cannot stand for the text around it.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Iterator
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


# Quoted messages -----------------------------------------------------------------------

# A message's text as tokens: one character each, or HOLE where a value (code) or an
# elision (docs) stands.
HOLE = None
Tokens = tuple[str | None, ...]
# What the code interpolates: Jinja expressions and statements, printf fields.
CODE_HOLE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|%(?:\(\w+\))?[sdr]", re.S)
# What a quote leaves out: an ellipsis (any stretch of the code's text), a <placeholder>
# (one value the code interpolates).
ELISION, PLACEHOLDER = "...", "<>"  # longer than a character: never equal to one
QUOTE_HOLE = re.compile(r"(?P<placeholder><[^<>`]+>)|…|\.\.\.")
# How many spaces the value shown for one interpolation may hold (a host name, a path, a
# list of two releases, a unit's state): a longer stretch is text the code must print itself,
# in the message or as one of its constants (a shape's description).
HOLE_SPACES = 4
MESSAGE_SOURCES = ("roles", "playbooks", "plugins")


@dataclass(frozen=True)
class Quote:
    where: str  # file:line of the blockquote
    text: str
    is_span: bool  # the blockquote is one code span, as a quoted message must be


def _tokens(text: str, holes: re.Pattern[str]) -> Tokens:
    """Whitespace collapsed (YAML folds lines, docs wrap them), each `holes` match one HOLE
    (in a quote: PLACEHOLDER for a <placeholder>, ELISION for an ellipsis)."""
    tokens: list[str | None] = []
    text, end = re.sub(r"\s+", " ", text), 0
    for hole in holes.finditer(text):
        tokens += list(text[end : hole.start()])
        if holes is QUOTE_HOLE:
            tokens.append(PLACEHOLDER if hole.group("placeholder") else ELISION)
        else:
            tokens.append(HOLE)
        end = hole.end()
    return tuple(tokens + list(text[end:]))


def _doc_quotes(doc: Path) -> Iterator[Quote]:
    """The blockquotes of one doc, outside fenced blocks; a list item starts a new one. The
    text is the code span the quote must be, or the blockquote as it is when it is not one."""
    paragraph: list[str] = []
    start, fenced = 0, False
    for number, line in enumerate([*doc.read_text(encoding="utf-8").splitlines(), ""], 1):
        fenced ^= bool(re.match(r"\s*```", line))
        quoted = None if fenced else re.match(r"\s*([-*]\s+)?>\s?(.*)", line)
        if paragraph and (not quoted or quoted.group(1)):
            text = " ".join(" ".join(paragraph).split())
            span = re.fullmatch(r"`([^`]+)`", text)
            yield Quote(f"{doc.relative_to(ROOT)}:{start}", span.group(1) if span else text, bool(span))
            paragraph = []
        if quoted:
            start = number if not paragraph else start
            paragraph.append(quoted.group(2))


def _python_strings(source: str) -> Iterator[Tokens]:
    """Every string of a module: f-strings with their fields as holes, others with printf
    and str.format fields as holes (adjacent literals are one string already)."""
    tree = ast.parse(source)
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            tokens: list[str | None] = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    tokens += list(_tokens(part.value, CODE_HOLE))
                else:
                    tokens.append(HOLE)
            yield tuple(tokens)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            yield _tokens(node.value, re.compile(f"{CODE_HOLE.pattern}|\\{{\\w*\\}}", re.S))


def _yaml_strings(value: object) -> Iterator[Tokens]:
    if isinstance(value, str):
        yield _tokens(value, CODE_HOLE)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _yaml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _yaml_strings(item)


class _AnyTag(yaml.SafeLoader):
    """Loads `!vault`, `!unsafe` and other tags as their plain value."""


_AnyTag.add_multi_constructor("!", lambda loader, _suffix, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class Code:
    """What the kit's code prints: its strings, with the words of each (a quote is looked for
    only in strings that share a word with it), and the strings without a hole as text: a
    hole may print one of those whole (a shape's description, a sentence kept in a table)."""

    messages: list[tuple[Tokens, frozenset[str]]]
    constants: frozenset[str]


def _code_messages() -> Code:
    """Every string the kit's code could print, once each."""
    found: set[Tokens] = set()
    for top in MESSAGE_SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if "tests" in path.relative_to(ROOT).parts or not path.is_file():
                continue
            if path.suffix == ".py":
                found.update(_python_strings(path.read_text(encoding="utf-8")))
            elif path.suffix in (".yml", ".yaml"):
                found.update(_yaml_strings(yaml.load(path.read_text(encoding="utf-8"), Loader=_AnyTag)))
    messages = [(tokens, _words(tokens)) for tokens in found if _words(tokens)]
    constants = frozenset("".join(tokens).strip() for tokens in found if HOLE not in tokens and " " in tokens)
    return Code(messages, constants)


def _words(tokens: Tokens) -> frozenset[str]:
    text = "".join(token if token is not HOLE and len(token) == 1 else " " for token in tokens)
    return frozenset(re.findall(r"[a-z]{4,}", text.lower()))


def _mask(positions: Iterable[int]) -> int:
    return sum(1 << position for position in set(positions))


class _Part:
    """A stretch of a quote between elisions, and where a hole of the code may take it to."""

    def __init__(self, tokens: Tokens, constants: frozenset[str]) -> None:
        self.tokens, self.size = tokens, len(tokens)
        self.equal = {token: _mask(i for i, t in enumerate(tokens) if t == token) for token in set(tokens)}
        self.placeholders = self.equal.get(PLACEHOLDER, 0)
        self.first_word = tokens.index(" ") if " " in tokens else self.size
        last_word = self.size - tokens[::-1].index(" ") if " " in tokens else 0
        self.before_last_word = (1 << (last_word + 1)) - 1  # positions up to the last word's start
        # From each position: the ends of a value (HOLE_SPACES spaces at most, never over a
        # placeholder), and the ends of a stretch that is one of the code's constants.
        self.values, self.whole_constants = [], []
        for start in range(self.size + 1):
            end, spaces = start, 0
            while end < self.size and len(tokens[end]) == 1 and (tokens[end] != " " or spaces < HOLE_SPACES):
                spaces += tokens[end] == " "
                end += 1
            self.values.append((1 << (end + 1)) - (1 << (start + 1)))
            text = "".join(token if len(token) == 1 else "\0" for token in tokens[start:])
            self.whole_constants.append(
                _mask(start + length for length in range(1, len(text) + 1) if text[:length] in constants)
            )

    def step(self, states: int, token: str | None, opening: bool) -> tuple[int, int]:
        """The positions reached after one more token of the code: (before, within) the first
        value that falls in the part's last word. A character must equal the part's next one; a
        hole takes a <placeholder>, a constant, nothing, or a value (one in the part's first
        word only when `opening`: the stretch began at the code's start)."""
        if token is not HOLE:
            return (states & self.equal.get(token, 0)) << 1, 0
        clean, into_last_word = states | (states & self.placeholders) << 1, 0
        for position in range(self.size + 1):
            if states >> position & 1:
                clean |= self.whole_constants[position]
                if opening or position >= self.first_word:
                    clean |= self.values[position] & self.before_last_word
                    into_last_word |= self.values[position] & ~self.before_last_word
        return clean, into_last_word


def _earliest_end(part: _Part, code: Tokens, first: int) -> int | None:
    """Where the earliest stretch of `code` that prints `part` ends, starting at `first` or
    later; None if there is none. The stretch starts on a character of the code (or a hole
    taking a placeholder), and a value falls in the part's first word, only when it starts at
    the code's start; it ends on a character of the code, and a value falls in the part's last
    word, only when it ends at the code's end: at either edge of a stretch a hole would take
    any text."""
    done = 1 << part.size
    ends_on_value = part.size > 0 and part.tokens[-1] == PLACEHOLDER
    # Bit i: the part's first i tokens end here, for a stretch that began at the code's start
    # (head) or later (body), before or after a value fell in the part's last word.
    head, head_last, body, body_last = 0, 0, 0, 0
    for column in range(first, len(code) + 1):
        if column == 0:
            head |= 1
        elif column < len(code) and (code[column] is not HOLE or part.tokens[0] == PLACEHOLDER):
            body |= 1
        on_character = column in (0, len(code)) or code[column - 1] is not HOLE or ends_on_value
        if ((head | body) & done and on_character) or ((head_last | body_last) & done and column == len(code)):
            return column
        if column == len(code):
            return None
        token = code[column]
        head, into = part.step(head, token, opening=True)
        head_last = _either(part.step(head_last, token, opening=True)) | into
        body, into = part.step(body, token, opening=False)
        body_last = _either(part.step(body_last, token, opening=False)) | into
    return None


def _either(states: tuple[int, int]) -> int:
    return states[0] | states[1]


def _parts(quote: Tokens, constants: frozenset[str]) -> list[_Part]:
    """The quote's stretches between elisions (the spaces next to an elision dropped)."""
    parts, part = [], []
    for token in (*quote, ELISION):
        if token == ELISION:
            while part and part[-1] == " ":
                part.pop()
            parts += [_Part(tuple(part), constants)] if part else []
            part = []
        elif token != " " or part:
            part.append(token)
    return parts


def quote_matches(quote: Tokens, code: Tokens, constants: frozenset[str] = frozenset()) -> bool:
    """Whether the quote is a stretch of what `code` prints: its parts between elisions, in
    order, each a stretch of the code (an elision takes any stretch of the code's text)."""
    return _parts_match(_parts(quote, constants), code)


def _parts_match(parts: list[_Part], code: Tokens) -> bool:
    column = 0
    for part in parts:
        end = _earliest_end(part, code, column)
        if end is None:
            return False
        column = end
    return bool(parts)


def message_found(text: str, code: Code) -> bool:
    """Whether one string of the code prints the quoted text."""
    quote = _tokens(text, QUOTE_HOLE)
    parts, words = _parts(quote, code.constants), _words(quote)
    return any(_parts_match(parts, message) for message, its_words in code.messages if words & its_words)


QUOTES = [quote for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] for quote in _doc_quotes(doc)]


@pytest.fixture(scope="module")
def code_messages() -> Code:
    return _code_messages()


def test_the_docs_quote_messages() -> None:
    """The extraction itself works: the docs quote the kit's messages."""
    assert len(QUOTES) >= 10, QUOTES


@pytest.mark.parametrize("quote", QUOTES, ids=[quote.where for quote in QUOTES])
def test_a_quoted_message_is_what_the_code_prints(quote: Quote, code_messages: Code) -> None:
    assert quote.is_span, f"{quote.where}: a blockquote quotes a message, as one code span: > `...`; got {quote.text}"
    assert message_found(quote.text, code_messages), (
        f"{quote.where}: no string of {', '.join(MESSAGE_SOURCES)} prints\n  {quote.text}\n"
        "quote the message as the code words it now (a value it interpolates may show an example; "
        "<placeholder> or … for a part left out)"
    )


def test_a_stale_quote_is_caught(code_messages: Code) -> None:
    """The bug this check was written for: a message quoted as the code once printed it."""
    current = "www1 runs Debian 11.9; supported (stack_supported_releases): Debian 12, Debian 13."
    assert message_found(current, code_messages)
    assert not message_found("www1 runs Debian 11.9; supported: Debian 12, Debian 13.", code_messages)
    # A shown value stands for a value, not for the code's own words around it.
    assert not message_found("www1 runs Debian 11.9 which is not supported.", code_messages)
    # A quote may leave a part out, but what it keeps must be the code's.
    assert message_found("… runs Debian 11.9; supported (stack_supported_releases): …", code_messages)
    assert not message_found("… runs Debian 11.9; supported (stack_releases): …", code_messages)


SHAPE_MESSAGE = "{{ name }} must be {{ shape }}, got {{ value }}."
RELEASE_MESSAGE = "Release {{ id }} of {{ name }} went live on {{ host }}"
LONG_SHAPE = frozenset({"a port number, or a name of letters and digits"})


@pytest.mark.parametrize(
    ("quote", "code", "constants", "found"),
    [
        ("got 70000.", SHAPE_MESSAGE, frozenset(), True),
        ("api.port must be a port number 1-65535, got 70000.", SHAPE_MESSAGE, frozenset(), True),
        # A hole at either edge of the stretch would take anything: it ends on the code's words...
        ("api.port must be anything at all", SHAPE_MESSAGE, frozenset(), False),
        ("must be a port number 1-65535", SHAPE_MESSAGE, frozenset(), False),
        # ... or at the code's very end.
        ("Release abc of notes went live on www1", RELEASE_MESSAGE, frozenset(), True),
        # A value is a few words, not a sentence; a constant of the code may be longer.
        ("a must be a port number, or a name of letters and digits, got 1.", SHAPE_MESSAGE, frozenset(), False),
        ("a must be a port number, or a name of letters and digits, got 1.", SHAPE_MESSAGE, LONG_SHAPE, True),
        (
            "Release abc of notes went live on www1 after the pre-switch check and the health check",
            RELEASE_MESSAGE,
            frozenset(),
            False,
        ),
        # A placeholder is one value of the code; an ellipsis any stretch of it.
        ("Release <id> of <service> went live …", RELEASE_MESSAGE, frozenset(), True),
        ("Release <id> of <service> went away …", RELEASE_MESSAGE, frozenset(), False),
        ("Release <id> went live on <host>", RELEASE_MESSAGE, frozenset(), False),
        ("Release … went live on <host>", RELEASE_MESSAGE, frozenset(), True),
        ("the same text", "the same text", frozenset(), True),
        ("the same text.", "the same text", frozenset(), False),
    ],
)
def test_how_a_quote_matches_the_code(quote: str, code: str, constants: frozenset[str], found: bool) -> None:
    assert quote_matches(_tokens(quote, QUOTE_HOLE), _tokens(code, CODE_HOLE), constants) is found
