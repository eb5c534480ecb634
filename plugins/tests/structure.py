"""The directives of a rendered file, by the rules of the program that reads it.

Two renders of a template have the same structure when a value can only have changed
the arguments of a directive, never added, removed or moved one.
"""

from __future__ import annotations

import os
import re
import tempfile

import crossplane


def nginx(text: str) -> list[str]:
    """Directive names with their nesting, as nginx's own grammar (crossplane) reads them."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        parsed = crossplane.parse(handle.name, single=True, check_ctx=False, check_args=False)
    finally:
        os.unlink(handle.name)
    if parsed["errors"]:
        return ["unparsable: " + parsed["errors"][0]["error"]]

    def walk(block: list[dict], path: str) -> list[str]:
        names = []
        for directive in block:
            names.append(f"{path}/{directive['directive']}")
            names.extend(walk(directive.get("block", []), f"{path}/{directive['directive']}"))
        return names

    return walk(parsed["config"][0]["parsed"], "")


def _logical_lines(text: str, comments: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.split("\n"):
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        stripped = line.strip()
        if stripped and stripped[0] not in comments:
            lines.append(stripped)
    return lines


def unit(text: str) -> list[str]:
    """[Section] and Key of every systemd unit line (continuations joined, as systemd does)."""
    return [line if line.startswith("[") else line.split("=", 1)[0].strip() for line in _logical_lines(text, "#;")]


def ini(text: str) -> list[str]:
    """uWSGI ini: sections and option names; a value has no quoting, so a line is an option."""
    return [line if line.startswith("[") else line.split("=", 1)[0].strip() for line in _logical_lines(text, "#;")]


def env(text: str) -> list[str]:
    """Variable names of a systemd EnvironmentFile, quotes and escapes read as systemd reads them."""
    names: list[str] = []
    index, length = 0, len(text)
    while index < length:
        while index < length and text[index] in " \t\n\r":
            index += 1
        if index >= length:
            break
        if text[index] in "#;":
            while index < length and text[index] != "\n":
                index += 1
            continue
        start = index
        while index < length and text[index] not in "=\n":
            index += 1
        names.append(text[start:index].strip())
        if index < length and text[index] == "=":
            index += 1
        quote = ""
        while index < length:
            char = text[index]
            if quote == '"' and char == "\\":
                index += 2
                continue
            if quote and char == quote:
                quote = ""
            elif not quote and char in "\"'":
                quote = char
            elif not quote and char == "\\":
                index += 2
                continue
            elif not quote and char == "\n":
                break
            index += 1
    return names


def words(text: str) -> list[str]:
    """First word of each line and every brace: logrotate, nft and shell files."""
    found = []
    for line in _logical_lines(text, "#"):
        found.append(line.split()[0])
        found.extend(char for char in line if char in "{};")
    return found


APT_STATEMENT = re.compile(r'\s*([A-Za-z0-9:._-]+)\s+"([^"\n]*)"\s*;')


def apt(text: str) -> list[str]:
    """apt.conf: the key of every `Key "value";` statement; whatever else is there, as found."""
    body = "\n".join(line for line in text.split("\n") if not line.strip().startswith("//"))
    keys, index = [], 0
    while body[index:].strip():
        statement = APT_STATEMENT.match(body, index)
        if not statement:
            return [*keys, "unparsed: " + body[index:].strip()]
        keys.append(statement.group(1))
        index = statement.end()
    return keys


PARSERS = {
    "apt": apt,
    "nginx": nginx,
    "unit": unit,
    "ini": ini,
    "env": env,
    "logrotate": words,
    "nft": words,
    "shell": words,
}
