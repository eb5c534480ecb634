"""The release's rules, one selection (code_files) for the release id, the archive and the
static files: links, ignored names and `exclude`. And what a resolved service keeps out of
sight (its secrets) or gives root to make (data parents, the config tree)."""

from __future__ import annotations

import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from release_step import releases, resolve, step


@pytest.fixture
def src(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    (code / "static" / "css").mkdir(parents=True)
    (code / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (code / "run.py").write_text("app = None\n", encoding="utf-8")
    (code / "static" / "css" / "style.css").write_text("body {}\n", encoding="utf-8")
    return code


def resolved(code: Path, build_dir: Path | None = None, **extra: Any) -> dict[str, Any]:
    service = {"name": "web", "src": str(code), "port": 8080, "static_dir": "static", **extra}
    [one] = resolve([service], "auto", "/srv/x", "tcp", "3.13", build_dir=str(build_dir) if build_dir else None)
    return one


def published(tree: str) -> dict[str, str]:
    return {
        os.path.relpath(os.path.join(directory, name), tree): Path(directory, name).read_text(encoding="utf-8")
        for directory, _, names in os.walk(tree)
        for name in names
    }


def test_a_link_out_of_the_code_is_refused_naming_the_service(src: Path, tmp_path: Path) -> None:
    outside = tmp_path / "controller-only.txt"
    outside.write_text("not for any host\n", encoding="utf-8")
    (src / "static" / "leak.txt").symlink_to(outside)
    with pytest.raises(
        ValueError, match=r"^stack_services \(web\): .*leak.txt is a symbolic link to .*controller-only"
    ):
        resolved(src)


@pytest.mark.parametrize("target", [".env", "tests/secret.txt", "missing.txt"])
def test_a_link_to_a_file_the_release_leaves_out_is_refused(src: Path, target: str) -> None:
    (src / ".env").write_text("TOKEN=x\n", encoding="utf-8")
    (src / "tests").mkdir()
    (src / "tests" / "secret.txt").write_text("x\n", encoding="utf-8")
    (src / "static" / "copy.txt").symlink_to(src / target)
    with pytest.raises(ValueError, match="which is not a file of the release"):
        step.code_files(str(src), ["tests"])


def test_a_link_inside_the_code_ships_as_the_file_it_names(src: Path, tmp_path: Path) -> None:
    (src / "static" / "css" / "linked.css").symlink_to("style.css")
    (src / "static" / "vendor").symlink_to(src / "static" / "css")  # a directory link: not shipped
    service = resolved(src)
    assert "static/css/linked.css" in step.code_files(str(src))
    with tarfile.open(service["archive"]) as archive:
        member = archive.getmember("static/css/linked.css")
        assert member.isfile()
        assert archive.extractfile(member).read() == b"body {}\n"  # type: ignore[union-attr]
        assert not [name for name in archive.getnames() if name.startswith("static/vendor")]


def test_static_files_are_the_releases_own(src: Path, tmp_path: Path) -> None:
    static = src / "static"
    (static / ".env.production").write_text("SECRET=x\n", encoding="utf-8")
    (static / "private.txt").write_text("private\n", encoding="utf-8")
    (static / "__pycache__").mkdir()
    (static / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (static / "css" / "linked.css").symlink_to("style.css")
    (src / "run2.py").write_text("outside static_dir\n", encoding="utf-8")
    build = tmp_path / "build"
    service = resolved(src, build, exclude=["static/private.txt"])
    tree = service["static_tree"]
    assert published(tree) == {"css/style.css": "body {}\n", "css/linked.css": "body {}\n"}
    assert not any(Path(directory, name).is_symlink() for directory, _, names in os.walk(tree) for name in names)
    # Made once per release. What this run does not ship goes, beyond the ones used last;
    # another service's trees are its own runs' business.
    older, old = build / "static" / "web-r1-00000000", build / "static" / "web-r2-00000000"
    for age, stale in ((300, older), (200, old)):
        stale.mkdir()
        os.utime(stale, (time.time() - age, time.time() - age))
    other = build / "static" / "api-r1-00000000"
    other.mkdir()
    assert resolved(src, build, exclude=["static/private.txt"])["static_tree"] == tree
    shipped = {"main": {"web": {"archive": service["archive"], "static_tree": tree}}}
    # At least this run's and the one used last stay (another run may be shipping it).
    assert step.remove_unused(str(build), shipped, 1) == [str(older)]
    nothing = {"main": {"web": {"archive": "", "static_tree": ""}}}
    assert step.remove_unused(str(build), nothing, 2) == [str(old)]
    assert other.is_dir() and Path(tree).is_dir() and Path(service["archive"]).is_file()


def test_secrets_are_kept_out_of_the_resolved_service(src: Path) -> None:
    files = [{"dest": "instance/conf/app.cfg", "content": "file-secret\n"}, {"dest": "instance/a.py", "src": "/c"}]
    given = {"secret_env": {"API_TOKEN": "env-secret"}, "files": files, "data_dirs": ["instance"]}
    service = resolved(src, **given)
    assert "secret_env" not in service
    assert service["files"] == [{"dest": "instance/conf/app.cfg"}, {"dest": "instance/a.py", "src": "/c"}]
    assert "file-secret" not in repr(service) and "env-secret" not in repr(service)
    secrets = releases.service_secrets([{"name": "web", **given}, {"name": "gone", "state": "absent"}])
    assert secrets == {
        "web": {"secret_env": {"API_TOKEN": "env-secret"}, "files": {"instance/conf/app.cfg": "file-secret\n"}}
    }


def test_root_makes_the_parents_of_data_directories_and_the_config_tree(src: Path) -> None:
    files = [{"dest": "instance/config.py", "content": ""}, {"dest": "uploads/images/conf/a.cfg", "content": ""}]
    service = resolved(src, data_dirs=["instance", "uploads/images", "a/b/c"], files=files)
    assert service["data_parents"] == ["a", "uploads", "a/b"]
    assert service["config_path"] == "/srv/x/web/config"
    assert service["config_links"] == ["instance/config.py", "uploads/images/conf"]


def test_each_stack_gets_its_own_release_and_one_stack_one_release(src: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging-code"
    shutil.copytree(src, staging)
    (staging / "run.py").write_text("app = 'staging'\n", encoding="utf-8")
    service = {"name": "web", "src": str(src), "port": 8080}
    requests = [
        {"host": "prod1", "cluster": "prod", "services": [service], "release": "auto"},
        # The same service, the default exclude written out: the same release.
        {"host": "prod2", "cluster": "prod", "services": [{**service, "exclude": []}], "release": "auto"},
        {"host": "stag1", "cluster": "staging", "services": [{**service, "src": str(staging)}], "release": "auto"},
    ]
    manifest = step.build_manifest(requests, str(tmp_path / "git"), str(tmp_path / "build"))
    assert set(manifest) == {"prod", "staging"}
    assert manifest["prod"]["web"]["release"] != manifest["staging"]["web"]["release"]
    # Within one stack, one service has one release per run.
    other = {"host": "prod3", "cluster": "prod", "services": [{**service, "src": str(staging)}], "release": "auto"}
    with pytest.raises(
        ValueError, match=r"service web has another source or release on prod3 than on prod1, in stack prod"
    ):
        step.build_manifest([*requests, other], str(tmp_path / "git"), str(tmp_path / "build"))
