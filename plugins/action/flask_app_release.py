"""The release step, on the controller, once per run (roles/stack/tasks/release.yml).

For every present service of every host of the play: where its code is (a directory, an
artifact, or a git commit exported from the controller's mirror), its release id, how its
virtualenv is built, the archive the app servers unpack and the static tree the front ends
publish. The task returns them as one manifest, keyed by service name, which every host of
the run reads: a branch that moves during the run cannot give two hosts two commits.

The code is read as files, never run: no hook, build or import of the app's code happens
here (docs/security.md).
"""

from __future__ import annotations

import fcntl
import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from typing import Any

from ansible.plugins.action import ActionBase

# Never shipped, never part of a release id: version control (its history and hooks),
# local secrets (.env, .env.local, .envrc), interpreter and tool caches, virtualenvs.
IGNORED_NAMES = {".git", ".hg", ".svn", ".bzr", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
IGNORED_NAMES |= {".venv", ".tox", ".nox"}
IGNORED_PREFIXES = (".env",)
IGNORED_SUFFIXES = (".pyc", ".pyo")

# The keys of a service that decide its release: two hosts naming one service must agree on them.
RELEASE_KEYS = ("git", "src", "artifact", "exclude", "data_dirs", "static_dir")


def ignored(relative: str, exclude: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether a path of the code tree stays on the controller.

    `exclude` holds the service's own glob patterns (`stack_services[].exclude`): a pattern
    matches a path from the top (`tests/*`, `docs`) or any single name in it (`*.sqlite`).
    """
    parts = relative.split("/")
    for index, part in enumerate(parts):
        if part in IGNORED_NAMES or part.startswith(IGNORED_PREFIXES):
            return True
        prefix = "/".join(parts[: index + 1])
        if any(fnmatch.fnmatchcase(prefix, p) or fnmatch.fnmatchcase(part, p) for p in exclude):
            return True
    return relative.endswith(IGNORED_SUFFIXES)


def code_files(root: str, exclude: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Relative paths of the files that make up a release, sorted: the one selection that the
    release id, the release archive and the published static files are made of.

    A symbolic link to a file is part of the release as that file's content, and only when
    the file is itself part of it (inside the tree, not ignored): any other link is refused,
    so no file of the controller outside the code (nor a `.env`) ever leaves it. Links to
    directories are neither followed nor shipped.
    """
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        here = os.path.relpath(directory, root)
        prefix = "" if here == "." else here + "/"
        subdirs[:] = sorted(d for d in subdirs if not ignored(prefix + d, exclude))
        found.extend(prefix + name for name in files if not ignored(prefix + name, exclude))
    for relative in found:
        _check_link(root, relative, exclude)
    return sorted(found)


def _check_link(root: str, relative: str, exclude: list[str] | tuple[str, ...]) -> None:
    """Refuse a symbolic link whose target is not a file of the release itself."""
    path = os.path.join(root, relative)
    if not os.path.islink(path):
        return
    real_root, target = os.path.realpath(root), os.path.realpath(path)
    inside = os.path.commonpath([real_root, target]) == real_root
    if not (inside and os.path.isfile(target) and not ignored(os.path.relpath(target, real_root), exclude)):
        raise ValueError(
            f"{path} is a symbolic link to {target}, which is not a file of the release (links must"
            " point at a shipped file of the same tree): replace it with the file, or add"
            f" {relative} to the service's exclude."
        )


def tree_digest(root: str, length: int = 12, exclude: list[str] | tuple[str, ...] = ()) -> str:
    """SHA-256 over names and contents of a code tree: equal trees give equal release ids."""
    if not os.path.isdir(root):
        raise ValueError(f"tree_digest: {root} is not a directory")
    digest = hashlib.sha256()
    for relative in code_files(root, exclude):
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(root, relative), "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:length]


def file_digest(path: str, length: int = 12) -> str:
    """SHA-256 of one file, shortened: keys a virtualenv by its requirements."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:length]


# The credentials of a URL (https://user:token@host/...): never in a message.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """`text` with the user and password of every URL in it replaced by `***@`."""
    return _URL_CREDENTIALS.sub("***@", text)


def _git(*args: str) -> str:
    """One git command on the controller, as an argv list; its error says what went wrong
    (with any credentials of the repository's URL left out)."""
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise ValueError(redact(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}"))
    return done.stdout.strip()


def git_export(name: str, repo: str, version: str, cache_dir: str) -> tuple[str, str]:
    """(directory holding `version` of `repo` as plain files, its commit id).

    The controller keeps a mirror per service (<cache_dir>/<name>.git), fetched once per run
    so a branch names its newest commit, and one export per commit: no .git directory ever
    leaves it. A lock makes concurrent runs (of other stacks) take turns on a mirror.
    """
    os.makedirs(cache_dir, exist_ok=True)
    mirror = os.path.join(cache_dir, f"{name}.git")
    with open(os.path.join(cache_dir, f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(mirror):
            _git("--git-dir", mirror, "remote", "set-url", "origin", repo)
            _git("--git-dir", mirror, "fetch", "--quiet", "--prune", "--tags", "origin")
        else:
            _git("clone", "--quiet", "--mirror", "--", repo, mirror)
        # The mirror's config holds the repository's URL, a token included: readable by
        # the controller's user alone.
        os.chmod(mirror, 0o700)
        commit = _git("--git-dir", mirror, "rev-parse", "--verify", "--end-of-options", f"{version}^{{commit}}")
        export = os.path.join(cache_dir, f"{name}-{commit}")
        if not os.path.isdir(export):
            partial = tempfile.mkdtemp(dir=cache_dir, prefix=f".{name}-")
            tar = subprocess.run(
                ["git", "--git-dir", mirror, "archive", "--format=tar", commit], capture_output=True, check=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
                archive.extractall(partial, filter="data")
            os.replace(partial, export)
    return export, commit


def install_plan(name: str, src: str, release: str, static_dir: str | None) -> dict[str, str]:
    """How the release's virtualenv is built, and what keys it.

    requirements.txt: its digest keys the virtualenv, shared by every release with the same
    requirements. Else pyproject.toml: the project and its dependencies, one virtualenv per
    release (the project itself is in it). An artifact (src is a wheel or sdist file): the
    same, from it. Nothing here reads what the files declare: the host's pip does, or, for
    the offline wheelhouse, the app role's filter_plugins/offline.py (statically).
    """
    if os.path.isfile(src):
        # A wheel or an sdist built by the user's CI: installed with its dependencies.
        return {"install": "artifact", "install_key": f"artifact-{release}"}
    if static_dir and not os.path.isdir(os.path.join(src, static_dir)):
        raise ValueError(f"stack_services ({name}): static_dir {static_dir} is not a directory of {src}")
    requirements = os.path.join(src, "requirements.txt")
    if os.path.isfile(requirements):
        return {"install": "requirements", "install_key": file_digest(requirements)}
    pyproject = os.path.join(src, "pyproject.toml")
    if not os.path.isfile(pyproject):
        raise ValueError(f"stack_services ({name}): {src} has neither requirements.txt nor pyproject.toml")
    return {"install": "project", "install_key": f"project-{release}"}


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Same tree, same bytes: the archive does not depend on who packed it or when.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


def _touch(path: str) -> bool:
    """Mark a build as used now (remove_unused keeps the ones used last); False when there
    is none (or another run has just removed it): then it is made again."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def release_archive(name: str, release: str, src: str, exclude: list[str], build_dir: str) -> str:
    """Path of the service's release archive on the controller, packed once per release
    (under a temporary name, then renamed: a concurrent run of another stack is safe)."""
    dest = os.path.join(build_dir, f"{name}-{release}.tar.gz")
    if _touch(dest):
        return dest
    os.makedirs(build_dir, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=build_dir, suffix=".partial")
    os.close(handle)
    try:
        # gzip's header would carry a file name and a time: both are left empty.
        with (
            open(partial, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
            tarfile.open(fileobj=packed, mode="w") as archive,
        ):
            # Exactly the files of the release id (code_files): nothing else leaves the controller.
            # A link goes as the file it names (code_files checked that it is one of them).
            for relative in code_files(src, exclude):
                source = os.path.realpath(os.path.join(src, relative))
                archive.add(source, arcname=relative, recursive=False, filter=_normalised)
        os.chmod(partial, 0o644)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return dest


def static_tree(name: str, release: str, src: str, exclude: list[str], static_dir: str, build_dir: str) -> str:
    """Directory on the controller holding the service's static files, made once per release.

    Exactly the files of the release (code_files: the same selection as its archive, so
    `.env*`, IGNORED_NAMES and the service's exclude apply, and a link is its target's
    content or a refusal) that are under static_dir, at their paths below it. The nginx
    role publishes this directory, never the code tree itself.
    """
    # The release and the static_dir it is published from (a release id given as
    # stack_release stays the same when only static_dir changes).
    where = hashlib.sha256(static_dir.encode()).hexdigest()[:8]
    dest = os.path.join(build_dir, "static", f"{name}-{release}-{where}")
    if _touch(dest):
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    partial = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=f".{name}-")
    prefix = static_dir.rstrip("/") + "/"
    try:
        for relative in code_files(src, exclude):
            if relative.startswith(prefix):
                target = os.path.join(partial, relative[len(prefix) :])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.realpath(os.path.join(src, relative)), target)
        os.chmod(partial, 0o755)
        try:
            os.rename(partial, dest)
        except OSError:
            if not os.path.isdir(dest):  # else a concurrent run made the same tree first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return dest


def release_of(service: dict[str, Any], release: str, git_cache: str, build_dir: str) -> dict[str, Any]:
    """The manifest entry of one service: where its code is, its release id, how its
    virtualenv is built, its archive and its static tree (controller paths)."""
    name = str(service["name"])
    commit = ""
    if "git" in service:
        src, commit = git_export(name, str(service["git"]["repo"]), str(service["git"]["version"]), git_cache)
    elif "artifact" in service:
        src = os.path.normpath(str(service["artifact"]))
    else:
        src = os.path.normpath(str(service["src"]))
    # Data is never code: a data directory in the source tree stays on the controller.
    exclude = [*service.get("exclude", []), *service.get("data_dirs", [])]
    static_dir = service.get("static_dir")
    if "artifact" not in service:
        try:
            code_files(src, exclude)  # a link that leaves the release is refused up front
        except ValueError as error:
            raise ValueError(f"stack_services ({name}): {error}") from None
    # The commit names a release from git (the same commit is the same release); an
    # artifact, its digest; a directory, the digest of what is shipped.
    if release != "auto":
        release_id = release
    elif "artifact" in service:
        release_id = file_digest(src)
    else:
        release_id = commit[:12] or tree_digest(src, exclude=exclude)
    entry: dict[str, Any] = {
        "src": src,
        "commit": commit,
        "release": release_id,
        "exclude": exclude,
        **install_plan(name, src, release_id, static_dir),
    }
    entry["archive"] = "" if "artifact" in service else release_archive(name, release_id, src, exclude, build_dir)
    entry["static_tree"] = static_tree(name, release_id, src, exclude, str(static_dir), build_dir) if static_dir else ""
    return entry


# What a key of RELEASE_KEYS means when a service leaves it out (the stack role's defaults).
_UNSET = {"exclude": [], "data_dirs": []}


def _release_key(service: dict[str, Any], release: str) -> str:
    given = {key: service.get(key, _UNSET.get(key)) for key in RELEASE_KEYS}
    return json.dumps([given, release], sort_keys=True, default=str)


def build_manifest(
    requests: list[dict[str, Any]], git_cache: str, build_dir: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """The release of every present service that a host of the run names, by stack
    (stack_cluster) and service name.

    `requests`: per host, {"host", "cluster" (its stack_cluster), "services" (its
    stack_services, controller paths made absolute), "release" (its stack_release)}. Each
    service of a stack is resolved once, whatever the number of its hosts; two hosts of one
    stack that give one service two sources (or two stack_release values) are refused: one
    service, one release per stack and run. Stacks are independent: each may run other code
    under the same service name.
    """
    chosen: dict[tuple[str, str], tuple[str, str, dict[str, Any], str]] = {}
    for request in requests:
        cluster = str(request["cluster"])
        for service in request["services"]:
            if service.get("state", "present") == "absent":
                continue
            name, release = str(service["name"]), str(request["release"])
            key = _release_key(service, release)
            if (cluster, name) in chosen and chosen[cluster, name][0] != key:
                raise ValueError(
                    redact(
                        f"stack_services: service {name} has another source or release on"
                        f" {request['host']} than on {chosen[cluster, name][1]}, in stack {cluster}"
                        " (stack_cluster); one run deploys one release of a service to a stack. Give"
                        " the hosts the same stack_services and stack_release, or put them in"
                        " different stacks."
                    )
                )
            chosen.setdefault((cluster, name), (key, str(request["host"]), service, release))
    manifest: dict[str, dict[str, dict[str, Any]]] = {}
    for (cluster, name), (_, _, service, release) in chosen.items():
        manifest.setdefault(cluster, {})[name] = release_of(service, release, git_cache, build_dir)
    return manifest


def _last_use(path: str) -> float:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except FileNotFoundError:  # removed by another run since it was listed
        return 0.0


def _remove(path: str, is_tree: bool) -> bool:
    try:
        if is_tree:
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:  # another run removed it first
        return False
    return True


def remove_unused(build_dir: str, manifest: dict[str, dict[str, dict[str, Any]]], keep: int) -> list[str]:
    """Keep, per service of the manifest and kind (archives, static trees), `keep` of them
    (at least 2): this run's, then the ones used last (another run, of another stack or a
    status.yml beside a deploy, may be shipping the one it used). Removes the rest, leaving
    alone what another run removed first; returns what it removed."""
    entries = [entry for services in manifest.values() for entry in services.values()]
    names = sorted({name for services in manifest.values() for name in services}, key=len, reverse=True)
    using = {entry[kind] for entry in entries for kind in ("archive", "static_tree") if entry[kind]}
    removed = []
    for directory, is_tree in ((build_dir, False), (os.path.join(build_dir, "static"), True)):
        try:
            found = os.listdir(directory)
        except FileNotFoundError:
            continue
        paths = [
            os.path.join(directory, n)
            for n in found
            if (is_tree or n.endswith(".tar.gz")) and not n.startswith(".") and os.path.join(directory, n) not in using
        ]
        paths.sort(key=_last_use, reverse=True)
        kept: dict[str, int] = {}
        for path in paths:
            # The longest name first: the trees of web_admin are not web's.
            service = next((n for n in names if os.path.basename(path).startswith(f"{n}-")), None)
            if service is None:
                continue  # another stack's: its own runs keep it in bounds
            kept[service] = kept.get(service, 1) + 1  # this run's own counts as the first
            if kept[service] > max(keep, 2) and _remove(path, is_tree):
                removed.append(path)
    return sorted(removed)


class ActionModule(ActionBase):
    """flask_app_release: build the run's release manifest on the controller."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("requests", "git_cache", "build_dir", "keep", "prune"))

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = self._task.args
        try:
            manifest = build_manifest(list(args["requests"]), str(args["git_cache"]), str(args["build_dir"]))
            removed = (
                remove_unused(str(args["build_dir"]), manifest, int(args.get("keep", 5)))
                if args.get("prune", True)
                else []
            )
        except (ValueError, OSError, subprocess.SubprocessError) as error:
            return {**result, "failed": True, "msg": redact(str(error))}
        # The controller's own cache changes; no host does.
        return {**result, "changed": False, "manifest": manifest, "removed": removed}
