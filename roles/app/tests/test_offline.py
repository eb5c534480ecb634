"""The offline wheelhouse: no code of the app or of its dependencies runs on the controller.

What to download is read from the service's files without running them
(filter_plugins/offline.py), refused entries are named before any host changes
(tasks/validate.yml), and the download itself (tasks/wheelhouse.yml, run here as its task
renders it, against a local package index) gets requirements by name only, through
files/controller/pip_download.py, which lets pip start no process. The three attacks of
issue 29 are regression cases: an in-tree build backend, a `name @ file:///...`
requirement (also declared by a wheel from the index), `--log=...` in
`[build-system] requires`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROLE = Path(__file__).resolve().parents[1]
PROJECT = ROLE.parents[1]
sys.path.insert(0, str(PROJECT / "plugins" / "tests"))
import render  # noqa: E402  (site.yml's checks and Ansible's templating, in-process)
from test_hostile_inputs import host_variables  # noqa: E402

_SPEC = importlib.util.spec_from_file_location("app_offline", ROLE / "filter_plugins" / "offline.py")
assert _SPEC and _SPEC.loader
offline = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(offline)

# pip download as the wheelhouse ran it before issue 29, without the guard.
PIP = [sys.executable, "-m", "pip", "--isolated", "download", "--quiet", "--disable-pip-version-check"]
# A requirement as pip gets it on the controller's argv: a normalised name first.
ARGV_FORM = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\[[^\]]*\])?[^/]*(?:; .*)?")


def service(src: Path, install: str, name: str = "web") -> dict[str, Any]:
    """A resolved service as the stack role gives it (the keys the wheelhouse reads)."""
    return {"name": name, "src": str(src), "install": install, "install_key": f"{install}-r1"}


def requirements(tmp_path: Path, text: str) -> dict[str, Any]:
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    return service(tmp_path, "requirements")


def pyproject(tmp_path: Path, text: str) -> dict[str, Any]:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return service(tmp_path, "project")


def wheel(directory: Path, name: str, requires: list[str], version: str = "1.0") -> Path:
    """A minimal pure-Python wheel whose METADATA declares `requires`."""
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {entry}\n" for entry in requires)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        archive.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n")
    return path


def package_index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 index on disk (file://), as app_pip_index_url names a mirror."""
    for built in wheels:
        project = root / built.name.split("-")[0]
        project.mkdir(parents=True, exist_ok=True)
        (project / "index.html").write_text(f'<a href="../../{built.parent.name}/{built.name}">{built.name}</a>\n')
    return root.as_uri()


def in_tree_backend(directory: Path, marker: Path, dependencies: list[str]) -> Path:
    """A project whose build backend, if anything ever ran it, writes `marker`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "evil"\nversion = "1.0"\ndependencies = {dependencies!r}\n'.replace("'", '"'),
        encoding="utf-8",
    )
    (directory / "backend.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('the backend ran')\n\n\n"
        "def get_requires_for_build_wheel(config_settings=None):\n    return []\n",
        encoding="utf-8",
    )
    return directory


def download_argv(item: dict[str, Any], index_url: str, dest: Path) -> list[str] | None:
    """The argv of tasks/wheelhouse.yml's download for `item`, as the task renders it (None:
    the task is skipped). Templating raises when an entry is refused."""
    task = next(t for t in render.load_yaml(ROLE / "tasks" / "wheelhouse.yml") if t["name"].startswith("Download"))
    play = render.Play(
        {
            "ansible_playbook_python": sys.executable,
            "role_path": str(ROLE),
            "stack_python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
            "app_wheel_platforms": ["manylinux_2_17_x86_64"],
            "app_pip_index_url": index_url,
            "app_wheel_dir": str(dest),
            "item": item,
        }
    )
    if not play.true(task["when"]):
        return None
    return [str(word) for word in play.value(task["ansible.builtin.command"]["argv"])]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


# --- What is read, and how pip gets it ------------------------------------------------


def test_requirements_are_read_by_name_and_handed_to_pip_normalised(tmp_path: Path) -> None:
    item = requirements(
        tmp_path,
        "# pinned\nFlask==3.1.3 --hash=sha256:0123 \\\n    --hash=sha256:4567\n\n"
        'Zope.Interface[Test] >= 5 ; python_version < "3.12"  # a comment\n',
    )
    assert offline.offline_errors([item]) == []
    assert offline.offline_requirements(item) == ["flask==3.1.3", 'zope-interface[test]>=5; python_version < "3.12"']


def test_the_demo_app_and_the_notes_project_are_read_without_a_build() -> None:
    app = offline.offline_requirements(service(PROJECT / "app", "requirements"))
    assert "flask==3.1.3" in app and all(ARGV_FORM.fullmatch(entry) for entry in app)
    notes = offline.offline_requirements(service(PROJECT / "molecule/common/files/notes", "project"))
    # Its dependencies and its build backend's requirement, each as pip gets it.
    assert {"flask<4,>=3.0", "setuptools>=61"} <= set(notes) and all(ARGV_FORM.fullmatch(entry) for entry in notes)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("evil @ file:///tmp/evil", "is a direct URL reference"),
        ("evil @ https://example.invalid/evil-1.0.tar.gz", "is a direct URL reference"),
        ("git+https://example.invalid/evil.git", "is not a requirement by name"),
        ("https://example.invalid/evil-1.0.tar.gz", "is not a requirement by name"),
        ("./evil", "is not a requirement by name"),
        ("/tmp/evil", "is not a requirement by name"),
        ("evil===../../evil-1.0-py3-none-any.whl", "uses ===, which matches any text"),
        ("flask==${VERSION}", "is not a requirement by name"),
        ("-e ./evil", "is a pip option"),
        ("-r other.txt", "is a pip option"),
        ("-c constraints.txt", "is a pip option"),
        ("--index-url https://example.invalid/simple", "is a pip option"),
        ("--find-links /tmp", "is a pip option"),
        ("--log /tmp/x", "is a pip option"),
        ("flask==3.1.3 --config-settings=x", "carries an option"),
    ],
)
def test_an_entry_only_a_build_or_pip_options_would_follow_is_refused(tmp_path: Path, line: str, why: str) -> None:
    item = requirements(tmp_path, f"Flask==3.1.3\n{line}\n")
    errors = offline.offline_errors([item])
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"stack_services (web): requirements.txt line 2 {line!r} {why}")
    with pytest.raises(ValueError, match=re.escape(repr(line))):
        offline.offline_requirements(item)


def test_a_project_gives_its_dependencies_and_build_requirements(tmp_path: Path) -> None:
    item = pyproject(
        tmp_path,
        '[build-system]\nrequires = ["hatchling>=1.20"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "p"\nversion = "1"\ndependencies = ["Flask>=3", "requests[socks]"]\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\n',
    )
    assert offline.offline_requirements(item) == ["flask>=3", "hatchling>=1.20", "requests[socks]"]


def test_a_project_without_build_system_gets_pips_default_backend(tmp_path: Path) -> None:
    item = pyproject(tmp_path, '[project]\nname = "p"\nversion = "1"\n')
    assert offline.offline_requirements(item) == ["setuptools>=40.8.0"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[project]\nname = "p"\nversion = "1"\ndynamic = ["dependencies"]\n', 'lists "dependencies" in [project]'),
        ('[build-system]\nrequires = ["setuptools"]\n', "has no [project] table"),
        (
            '[build-system]\nrequires = ["setuptools", "--log=/tmp/x"]\n[project]\nname = "p"\nversion = "1"\n',
            "pyproject.toml [build-system] requires entry '--log=/tmp/x' is a pip option",
        ),
        (
            '[build-system]\nrequires = ["setuptools @ file:///tmp/st"]\n[project]\nname = "p"\nversion = "1"\n',
            "requires entry 'setuptools @ file:///tmp/st' is a direct URL reference",
        ),
        (
            '[project]\nname = "p"\nversion = "1"\ndependencies = ["evil @ file:///tmp/evil"]\n',
            "[project] dependencies entry 'evil @ file:///tmp/evil' is a direct URL reference",
        ),
        ('[project]\nname = "p"\nversion = "1"\ndependencies = "Flask"\n', "dependencies must be a list"),
        ('[project]\nname = "p"\nversion = "1"\ndependencies = [3]\n', "3 is not a string"),
        ("[project\n", "pyproject.toml is not valid TOML"),
    ],
)
def test_a_project_whose_dependencies_need_a_build_or_a_url_is_refused(
    tmp_path: Path, text: str, fragment: str
) -> None:
    errors = offline.offline_errors([pyproject(tmp_path, text)])
    assert len(errors) == 1 and errors[0].startswith("stack_services (web): ") and fragment in errors[0], errors


def test_a_wheel_artifact_gives_its_requires_dist(tmp_path: Path) -> None:
    built = wheel(tmp_path, "notes", ["Flask>=3.0,<4", 'pytest; extra == "test"'])
    # The extra's marker stays: pip leaves out what no requested extra asks for.
    assert offline.offline_requirements(service(built, "artifact")) == ["flask<4,>=3.0", 'pytest; extra == "test"']


def test_a_wheel_artifact_with_a_direct_url_dependency_is_refused(tmp_path: Path) -> None:
    built = wheel(tmp_path, "notes", ["Flask>=3.0,<4", "evil @ file:///tmp/evil"])
    errors = offline.offline_errors([service(built, "artifact")])
    assert errors == [
        "stack_services (web): artifact notes-1.0-py3-none-any.whl Requires-Dist 'evil @ file:///tmp/evil' is a"
        " direct URL reference, refused offline (only a build could follow it): put the package on your index"
        " (app_pip_index_url) and require it by name and version."
    ]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("notes-1.0.tar.gz", b"", "is an sdist: its dependencies are known only by building it"),
        ("notes-1.0.zip", b"", "is an sdist"),
        ("notes-1.0-py3-none-any.whl", b"not a zip", "is not a wheel with one readable *.dist-info/METADATA"),
    ],
)
def test_an_artifact_whose_dependencies_need_a_build_is_refused(
    tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    (tmp_path / name).write_bytes(content)
    errors = offline.offline_errors([service(tmp_path / name, "artifact")])
    assert len(errors) == 1 and fragment in errors[0] and errors[0].startswith("stack_services (web): artifact")


# --- The up-front check: offline only ---------------------------------------------------


def checked(src: Path, mode: str) -> None:
    """site.yml's up-front checks (in-process) with one service from `src`, offline or not."""
    variables = host_variables("tcp")
    variables.update(
        copy.deepcopy(
            {
                "app_pip_mode": mode,
                "stack_services": [{"name": "flask_app", "src": str(src), "port": 8080}],
                "stack_routes": [{"path": "/", "service": "flask_app"}],
            }
        )
    )
    variables["hostvars"] = {"app1": variables}
    render.check(variables)


def test_index_mode_leaves_the_requirements_file_to_the_hosts_sandboxed_pip(tmp_path: Path) -> None:
    # Options such as --index-url or --hash lines and direct URLs are pip's business on the
    # host, where it runs as the build account in the service's sandbox.
    (tmp_path / "requirements.txt").write_text("--index-url https://example.invalid/simple\nevil @ file:///tmp/e\n")
    checked(tmp_path, "index")
    with pytest.raises(render.Refused, match=r"stack_services \(flask_app\): requirements.txt line 1"):
        checked(tmp_path, "offline")


# --- The download as tasks/wheelhouse.yml runs it ----------------------------------------


def test_the_download_gets_only_requirements_by_name_after_the_end_of_options(tmp_path: Path) -> None:
    item = pyproject(tmp_path, '[project]\nname = "p"\nversion = "1"\ndependencies = ["Flask"]\n')
    argv = download_argv(item, "", tmp_path / "wheels")
    assert argv is not None
    assert argv[:3] == [sys.executable, "-I", str(ROLE / "files" / "controller" / "pip_download.py")]
    assert "--isolated" in argv and "--only-binary=:all:" in argv and str(tmp_path) not in argv[argv.index("--") :]
    assert argv[argv.index("--") + 1 :] == ["flask", "setuptools>=40.8.0"]


def test_an_in_tree_build_backend_never_runs_on_the_controller(tmp_path: Path) -> None:
    marker = tmp_path / "backend-ran"
    index = package_index(tmp_path / "simple", [wheel(tmp_path / "files", "plain", [])])
    project = in_tree_backend(tmp_path / "project", marker, ["plain==1.0"])
    item = service(project, "project")
    # The old wheelhouse handed pip the project directory: its backend ran here.
    old = run([*PIP, "--index-url", index, "-d", str(tmp_path / "old"), str(project)])
    assert marker.exists(), f"the fixture's backend should run when pip gets the directory: {old.stderr}"
    marker.unlink()

    argv = download_argv(item, index, tmp_path / "wheels")
    assert argv is not None
    done = run(argv)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "wheels").iterdir()] == ["plain-1.0-py3-none-any.whl"]
    assert not marker.exists()


def test_a_wheel_from_the_index_pointing_at_a_build_fails_the_download_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "backend-ran"
    evil = in_tree_backend(tmp_path / "evil", marker, [])
    carrier = wheel(tmp_path / "files", "carrier", [f"evil @ {evil.as_uri()}"])
    index = package_index(tmp_path / "simple", [carrier])
    (tmp_path / "app").mkdir()
    item = requirements(tmp_path / "app", "carrier==1.0\n")

    done = run(download_argv(item, index, tmp_path / "wheels") or [])
    assert done.returncode != 0
    assert "pip tried to start a process" in done.stderr
    assert not marker.exists()


def test_a_file_url_requirement_never_reaches_the_download(tmp_path: Path) -> None:
    marker = tmp_path / "backend-ran"
    evil = in_tree_backend(tmp_path / "evil", marker, [])
    item = requirements(tmp_path, f"evil @ {evil.as_uri()}\n")
    assert offline.offline_errors([item]) == [
        f"stack_services (web): requirements.txt line 1 'evil @ {evil.as_uri()}' is a direct URL reference, refused"
        " offline (only a build could follow it): put the package on your index (app_pip_index_url) and require"
        " it by name and version."
    ]
    with pytest.raises(Exception, match="is a direct URL reference"):
        download_argv(item, "", tmp_path / "wheels")
    assert not marker.exists()


def test_a_pip_option_in_build_requires_never_reaches_the_download(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    index = package_index(tmp_path / "simple", [wheel(tmp_path / "files", "plain", [])])
    # On pip's argv such an entry is an option: it writes the file.
    old = run([*PIP, "--index-url", index, "-d", str(tmp_path / "old"), "plain", f"--log={log}"])
    assert old.returncode == 0 and log.exists(), old.stderr
    log.unlink()

    (tmp_path / "project").mkdir()
    item = pyproject(
        tmp_path / "project",
        f'[build-system]\nrequires = ["plain", "--log={log}"]\n[project]\nname = "p"\nversion = "1"\n',
    )
    assert offline.offline_errors([item]) == [
        f"stack_services (web): pyproject.toml [build-system] requires entry '--log={log}' is a pip option, not a"
        f" requirement: write {offline.FORM}."
    ]
    with pytest.raises(Exception, match="is a pip option"):
        download_argv(item, index, tmp_path / "wheels")
    assert not log.exists()
