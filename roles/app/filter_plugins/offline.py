"""What the offline wheelhouse downloads, read from the service's files without running them.

With app_pip_mode offline the controller downloads the wheels a service needs
(tasks/wheelhouse.yml). It never builds or runs the app or a dependency: what to download is
read here, statically, from

- requirements.txt: one requirement per line (a trailing `--hash=...` is left to the host's pip);
- pyproject.toml: `[project] dependencies` and `[build-system] requires` (tomllib);
- a wheel artifact: the `Requires-Dist` lines of its `*.dist-info/METADATA` (zipfile).

Each entry must be a PEP 508 requirement by name (`name[extras] specifier; marker`): a URL, a
path, an editable install or a pip option is refused with a message naming the service and the
entry (app_offline_errors, run by tasks/validate.yml before any host changes). pip then gets
each requirement rebuilt from its parts with the name normalised, after `--` on its argv
(app_offline_requirements): never a file, a directory or a URL, never an option.
"""

from __future__ import annotations

import email.parser
import os
import re
import tomllib
import zipfile
from collections.abc import Iterator
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# pip's own default for a pyproject.toml without [build-system] requires.
DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0"]
# pip's comment rule in requirement files: `#` at the start or after whitespace.
COMMENT = re.compile(r"(^|\s+)#.*$")
# A METADATA file is a few kilobytes; anything this large is not one.
METADATA_LIMIT = 1 << 20
SDIST_SUFFIXES = (".tar.gz", ".zip")
FORM = "name[extras]<specifier>[; marker], e.g. Flask>=3.0,<4"
# What to do with a dependency that is not on the index.
PUBLISH = "put the package on your index (app_pip_index_url) and require it by name and version"


def _entry_problem(entry: Any) -> str | None:
    """Why one requirement cannot be downloaded by name, or None when it can."""
    if not isinstance(entry, str):
        return f"{entry!r} is not a string: write {FORM}"
    if entry.lstrip().startswith("-"):
        return f"{entry!r} is a pip option, not a requirement: write {FORM}"
    try:
        requirement = Requirement(entry)
    except InvalidRequirement:
        return f"{entry!r} is not a requirement by name (a URL, a path or a VCS link is refused offline): write {FORM}"
    if requirement.url:
        return f"{entry!r} is a direct URL reference, refused offline (only a build could follow it): {PUBLISH}"
    if any(spec.operator == "===" for spec in requirement.specifier):
        # Arbitrary equality compares text, not versions: pip reads `===../x.whl` as a file.
        return f"{entry!r} uses ===, which matches any text (even a file name): write {FORM}"
    return None


def _line_options(options: list[str]) -> bool:
    """Whether what follows a requirement on its line is only --hash=... options."""
    index = 0
    while index < len(options):
        if options[index] == "--hash" and index + 1 < len(options):
            index += 2
        elif options[index].startswith("--hash="):
            index += 1
        else:
            return False
    return True


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number of its first line, text) of each line, a line ending in \\ joined with the next
    as pip joins them."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        start = start if parts else number
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        yield start, "".join([*parts, raw])
        parts = []
    if parts:
        yield start, "".join(parts)


def _requirements_txt(path: str) -> tuple[list[str], list[str]]:
    """(requirements, problems) of a requirements.txt, split as pip splits a line (the
    requirement up to the first word starting with -), every option but --hash refused."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        return [], [f"requirements.txt is not UTF-8 text ({error})"]
    requirements: list[str] = []
    problems: list[str] = []
    for number, raw in _logical_lines(text):
        words = COMMENT.sub("", raw).split()
        if not words:
            continue
        where = f"requirements.txt line {number}"
        line = " ".join(words)
        first_option = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
        if first_option == 0:
            problems.append(
                f"{where} {line!r} is a pip option, which the controller does not follow offline: list"
                f" requirements only ({FORM}; a trailing --hash=... is kept for the host's pip), and the"
                " index in app_pip_index_url"
            )
            continue
        requirement = " ".join(words[:first_option])
        problem = _entry_problem(requirement)
        if problem:
            problems.append(f"{where} {problem}")
        elif not _line_options(words[first_option:]):
            problems.append(f"{where} {line!r} carries an option: only --hash=... may follow a requirement offline")
        else:
            requirements.append(requirement)
    return requirements, problems


def _table_entries(where: str, entries: Any) -> tuple[list[str], list[str]]:
    if not isinstance(entries, list):
        return [], [f"{where} must be a list of requirements ({FORM}), got {entries!r}"]
    problems = [f"{where} entry {problem}" for problem in map(_entry_problem, entries) if problem]
    return ([] if problems else list(entries)), problems


def _pyproject(path: str) -> tuple[list[str], list[str]]:
    """(dependencies + build requirements, problems) of a pyproject.toml, never built."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return [], [f"pyproject.toml is not valid TOML ({error})"]
    project = data.get("project")
    dynamic = project.get("dynamic", []) if isinstance(project, dict) else []
    if not isinstance(project, dict) or "dependencies" in dynamic:
        why = "has no [project] table" if not isinstance(project, dict) else 'lists "dependencies" in [project] dynamic'
        return [], [
            f"pyproject.toml {why}: its dependencies are known only by running its build backend,"
            " which the controller never does offline. List them in [project] dependencies, list them"
            " in a requirements.txt, or build a wheel in CI and deploy it with artifact:"
        ]
    build_system = data.get("build-system", {})
    requires = build_system.get("requires", DEFAULT_BUILD_REQUIRES) if isinstance(build_system, dict) else None
    dependencies, problems = _table_entries("pyproject.toml [project] dependencies", project.get("dependencies", []))
    build, build_problems = _table_entries("pyproject.toml [build-system] requires", requires)
    return dependencies + build, problems + build_problems


def _wheel(path: str) -> tuple[list[str], list[str]]:
    """(Requires-Dist, problems) of a wheel: its METADATA is read, nothing in it is run."""
    name = os.path.basename(path)
    if name.endswith(SDIST_SUFFIXES):
        return [], [
            f"artifact {name} is an sdist: its dependencies are known only by building it, which the"
            " controller never does offline. Build a wheel in CI (python -m build --wheel) and deploy the .whl"
        ]
    try:
        with zipfile.ZipFile(path) as wheel:
            found = [info for info in wheel.infolist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", info.filename)]
            if len(found) != 1 or found[0].file_size > METADATA_LIMIT:
                raise zipfile.BadZipFile("no single *.dist-info/METADATA")
            metadata = wheel.read(found[0]).decode("utf-8")
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        return [], [f"artifact {name} is not a wheel with one readable *.dist-info/METADATA ({error})"]
    entries = email.parser.Parser().parsestr(metadata, headersonly=True).get_all("Requires-Dist") or []
    problems = [f"artifact {name} Requires-Dist {problem}" for problem in map(_entry_problem, entries) if problem]
    return ([] if problems else entries), problems


def declared(service: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(requirements, problems) of a resolved service (stack_resolved_services), by its install."""
    if service["install"] == "requirements":
        return _requirements_txt(os.path.join(service["src"], "requirements.txt"))
    if service["install"] == "project":
        return _pyproject(os.path.join(service["src"], "pyproject.toml"))
    return _wheel(service["src"])


def offline_errors(services: list[dict[str, Any]]) -> list[str]:
    """One message per entry the offline wheelhouse refuses, naming the service."""
    return [
        f"stack_services ({service['name']}): {problem}." for service in services for problem in declared(service)[1]
    ]


def _argv_form(entry: str) -> str:
    """A requirement as pip gets it: the normalised name (no `.` or `/`, so never a file
    name), its normalised extras (PEP 685), specifier and marker; the URL form is refused
    before this."""
    requirement = Requirement(entry)
    extras = f"[{','.join(sorted(map(canonicalize_name, requirement.extras)))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{canonicalize_name(requirement.name)}{extras}{requirement.specifier}{marker}"


def offline_requirements(service: dict[str, Any]) -> list[str]:
    """What `pip download` gets after `--` for a service; a refused entry fails the task
    even when the up-front checks were skipped."""
    requirements, problems = declared(service)
    if problems:
        raise ValueError(f"stack_services ({service['name']}): {'; '.join(problems)}.")
    return sorted({_argv_form(entry) for entry in requirements})


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "app_offline_errors": offline_errors,
            "app_offline_requirements": offline_requirements,
        }
