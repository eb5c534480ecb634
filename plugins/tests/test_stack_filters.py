"""The release step and the resolution of the services: release ids, archives, git exports."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from release_step import resolve, step


@pytest.fixture
def src(tmp_path: Path) -> str:
    (tmp_path / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (tmp_path / "run.py").write_text("app = None\n", encoding="utf-8")
    (tmp_path / "static").mkdir()
    return str(tmp_path)


def service(code_dir: str, **extra: Any) -> dict[str, Any]:
    return {"name": "web", "src": code_dir, "port": 8080, "static_dir": "static", **extra}


def test_release_digest_ignores_caches_and_follows_content(src: str) -> None:
    before = step.tree_digest(src)
    cache = Path(src) / "__pycache__"
    cache.mkdir()
    (cache / "run.cpython-311.pyc").write_bytes(b"\0")
    assert step.tree_digest(src) == before
    (Path(src) / "run.py").write_text("app = 1\n", encoding="utf-8")
    assert step.tree_digest(src) != before


def test_resolve_fills_every_default_once(src: str) -> None:
    [resolved] = resolve([service(src)], "auto", "/srv/x/", "tcp", "3.13")
    assert resolved["release"] == step.tree_digest(src)
    assert resolved["dir"] == "/srv/x/web"
    assert resolved["unit"] == "uwsgi-web"
    assert resolved["user"] == resolved["group"] == "web"
    assert resolved["socket_path"] == "/run/web/uwsgi.sock"
    assert resolved["venv"] == f"/srv/x/web/venvs/{resolved['install_key']}-py3.13"
    assert resolved["module"] == "run:app"
    assert resolved["address"] == f"127.0.0.1:{resolved['port']}"


def test_address_is_the_socket_or_the_bind_address_and_port(src: str) -> None:
    [tcp] = resolve([service(src)], "auto", "/srv/x", "tcp", "3.13", False, "10.0.0.11")
    assert tcp["address"] == f"10.0.0.11:{tcp['port']}"
    [unix] = resolve([service(src)], "auto", "/srv/x", "auto", "3.13", True, "127.0.0.1")
    assert unix["address"] == "/run/web/uwsgi.sock"


def test_explicit_release_id_is_kept(src: str) -> None:
    [resolved] = resolve([service(src)], "2026-11-26.1", "/srv/x", "unix", "3.11")
    assert resolved["release"] == "2026-11-26.1"
    assert resolved["socket_mode"] == "unix"


@pytest.mark.parametrize(
    ("default_mode", "explicit", "all_in_one", "expected"),
    [
        ("auto", None, True, "unix"),
        ("auto", None, False, "tcp"),
        ("auto", "tcp", True, "tcp"),
        ("tcp", "auto", True, "unix"),
        ("tcp", None, True, "tcp"),
        ("unix", None, False, "unix"),
    ],
)
def test_auto_socket_mode_is_unix_only_where_one_host_is_the_whole_stack(
    src: str, default_mode: str, explicit: str | None, all_in_one: bool, expected: str
) -> None:
    declared = service(src) | ({"socket_mode": explicit} if explicit else {})
    [resolved] = resolve([declared], "auto", "/srv/x", default_mode, "3.13", all_in_one)
    assert resolved["socket_mode"] == expected


def test_release_archive_is_reproducible_and_leaves_caches_out(
    src: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import tarfile

    cache = Path(src) / "__pycache__"
    cache.mkdir()
    (cache / "run.cpython-311.pyc").write_bytes(b"\0")
    [resolved] = resolve([service(src)], "auto", "/srv/x", "tcp", "3.13")
    first = step.release_archive("web", resolved["release"], src, [], str(tmp_path_factory.mktemp("a")))
    second = step.release_archive("web", resolved["release"], src, [], str(tmp_path_factory.mktemp("b")))
    assert Path(first).read_bytes() == Path(second).read_bytes()
    with tarfile.open(first) as archive:
        names = archive.getnames()
    assert "run.py" in names and "requirements.txt" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_vcs_local_secrets_caches_and_excluded_paths_stay_on_the_controller(src: str) -> None:
    root = Path(src)
    for relative in (
        ".git/config",
        ".git/hooks/pre-commit",
        ".env",
        ".env.production",
        ".envrc",
        "instance/app.sqlite",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("not code\n", encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test(): pass\n", encoding="utf-8")
    assert step.code_files(src, ["tests", "*.sqlite"]) == ["requirements.txt", "run.py"]
    assert "tests/test_app.py" in step.code_files(src)


def test_a_change_outside_the_shipped_files_is_not_a_new_release(src: str) -> None:
    before = step.tree_digest(src)
    (Path(src) / ".git").mkdir()
    (Path(src) / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (Path(src) / ".env").write_text("SECRET=1\n", encoding="utf-8")
    assert step.tree_digest(src) == before


def test_the_archive_ships_exactly_the_files_of_the_release_id(
    src: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import tarfile

    (Path(src) / ".git").mkdir()
    (Path(src) / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (Path(src) / ".env").write_text("SECRET=1\n", encoding="utf-8")
    (Path(src) / "notes.md").write_text("draft\n", encoding="utf-8")
    [resolved] = resolve([service(src, exclude=["*.md"])], "auto", "/srv/x", "tcp", "3.13")
    with tarfile.open(resolved["archive"]) as archive:
        names = sorted(archive.getnames())
    assert names == step.code_files(src, ["*.md"]) == ["requirements.txt", "run.py"]


def test_an_artifact_is_its_own_release_and_keeps_flasks_instance_folder_as_data(tmp_path: Path) -> None:
    wheel = tmp_path / "notes-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK a wheel")
    declared = {"name": "notes", "artifact": str(wheel), "port": 8081, "module": "notes:create_app()"}
    [resolved] = resolve([{**declared, "data_dirs": ["instance"]}], "auto", "/srv/x", "tcp", "3.13")
    assert resolved["install"] == "artifact"
    assert resolved["release"] == step.file_digest(str(wheel))
    assert resolved["venv"] == f"/srv/x/notes/venvs/artifact-{resolved['release']}-py3.13"
    assert resolved["installed_instance"] == f"{resolved['venv']}/var/notes-instance"
    [plain] = resolve([declared], "auto", "/srv/x", "tcp", "3.13")
    assert plain["installed_instance"] == ""


def test_a_git_token_is_never_in_a_message_and_the_mirror_is_the_controllers_alone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "run.py").write_text("app = None\n", encoding="utf-8")
    git = ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for argv in (["init", "--quiet", "--initial-branch=main"], ["add", "."], ["commit", "--quiet", "-m", "one"]):
        subprocess.run([*git, *argv], check=True)
    cache = tmp_path / "cache"
    step.git_export("web", f"file://{origin}", "main", str(cache))
    assert (cache / "web.git").stat().st_mode & 0o777 == 0o700

    with pytest.raises(ValueError) as refused:
        step.git_export("private", "https://deploy:s3cr3t-token@127.0.0.1:9/app.git", "main", str(cache))
    assert "s3cr3t-token" not in str(refused.value)
    assert "https://***@127.0.0.1:9/app.git" in str(refused.value)


def test_a_git_token_stays_out_of_the_resolved_service(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (origin / "run.py").write_text("app = None\n", encoding="utf-8")
    git = ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for argv in (["init", "--quiet", "--initial-branch=main"], ["add", "."], ["commit", "--quiet", "-m", "one"]):
        subprocess.run([*git, *argv], check=True)
    # git reads a file:// URL's user part and ignores it: a real clone with a "token" in it.
    repo = f"file://deploy:s3cr3t-token@{origin}"
    services = [{"name": "web", "git": {"repo": repo, "version": "main"}, "port": 8080}]
    resolved = resolve(services, "auto", "/srv/x", "tcp", "3.13", git_cache=str(tmp_path / "cache"))
    assert "s3cr3t-token" not in repr(resolved)
    assert resolved[0]["git"] == {"repo": f"file://***@{origin}", "version": "main"}
