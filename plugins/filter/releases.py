"""Filters that resolve the services and pack their releases, evaluated on the controller.

The stack role resolves the services with them (flask_app_resolve_services,
flask_app_absent_services); the app role packs a release (flask_app_release_archive)
from exactly the files the release id was computed from (code_files).
"""

from __future__ import annotations

import fcntl
import fnmatch
import gzip
import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any


def _sibling(name: str) -> Any:
    """Another file of plugins/filter: Ansible loads each one on its own, not as a package."""
    module_name = f"flask_app_filter_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, Path(__file__).with_name(f"{name}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    return sys.modules[module_name]


# A service's keys and their defaults: the stack role's argument spec (schema.py reads it).
schema = _sibling("schema")

# Never shipped, never part of a release id: version control (its history and hooks),
# local secrets (.env, .env.local, .envrc), interpreter and tool caches, virtualenvs.
IGNORED_NAMES = {".git", ".hg", ".svn", ".bzr", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
IGNORED_NAMES |= {".venv", ".tox", ".nox"}
IGNORED_PREFIXES = (".env",)
IGNORED_SUFFIXES = (".pyc", ".pyo")


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


# The sandbox of a service's code (docs/security.md): the uWSGI unit has these lines
# (roles/uwsgi), and the pre-switch check runs the new release under the same ones
# (roles/app, systemd-run --property). The code needs no privilege, writes nothing but
# what the unit adds (its log and runtime directory), and makes no new namespaces or
# devices.
SANDBOX = (
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "DevicePolicy=closed",
    "PrivateIPC=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "ProcSubset=pid",
    "KeyringMode=private",
    "RemoveIPC=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "MemoryDenyWriteExecute=yes",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @resources",
    "SystemCallErrorNumber=EPERM",
    "UMask=0077",
)


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

    The controller keeps a mirror per service (<cache_dir>/<name>.git), fetched on every
    run so a branch names its newest commit, and one export per commit: no .git directory
    ever leaves it. A lock makes the hosts of one run, resolved in parallel, take turns.
    """
    root = cache_dir
    os.makedirs(root, exist_ok=True)
    mirror = os.path.join(root, f"{name}.git")
    with open(os.path.join(root, f"{name}.lock"), "w") as lock:
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
        export = os.path.join(root, f"{name}-{commit}")
        if not os.path.isdir(export):
            partial = tempfile.mkdtemp(dir=root, prefix=f".{name}-")
            tar = subprocess.run(
                ["git", "--git-dir", mirror, "archive", "--format=tar", commit], capture_output=True, check=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
                archive.extractall(partial, filter="data")
            os.replace(partial, export)
    return export, commit


def install_plan(name: str, src: str, release: str, static_dir: str | None) -> dict[str, Any]:
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


def resolve_services(
    services: list[dict[str, Any]],
    release: str,
    base_dir: str,
    default_mode: str,
    python_version: str,
    all_in_one: bool = False,
    bind_address: str = "127.0.0.1",
    git_cache: str = ".cache/git",
) -> list[dict[str, Any]]:
    """Fill in every default once, so no role recomputes a path, user or release id.

    all_in_one: this stack is one host running both nginx and uWSGI ("auto" means unix then).
    bind_address: where this host's TCP sockets listen; with the mode it gives `address`,
    the one place the service is reached on this host (health checks, probes).
    git_cache: the controller's directory of git mirrors and exports (stack_git_cache).
    """
    resolved = []
    for service in services:
        if service.get("state", "present") == "absent":
            continue  # removed, not served: absent_services() describes what is left of it
        name = service["name"]
        commit = ""
        if "git" in service:
            src, commit = git_export(name, service["git"]["repo"], str(service["git"]["version"]), git_cache)
        elif "artifact" in service:
            src = os.path.normpath(service["artifact"])
        else:
            src = os.path.normpath(service["src"])
        item = schema.with_defaults(service)
        # Secrets stay out of this fact, which task results print (-v) and every host reads:
        # service_secrets() holds them. A file keeps its dest (and src, a controller path).
        item.pop("secret_env", None)
        item["files"] = [{k: v for k, v in entry.items() if k != "content"} for entry in item["files"]]
        if "git" in service:  # a token in the repository's URL is a secret too
            item["git"] = {"repo": redact(str(service["git"]["repo"])), "version": service["git"]["version"]}
        # Data is never code: a data directory in the source tree stays on the controller.
        item["exclude"] = [*item["exclude"], *item["data_dirs"]]
        service_dir = f"{base_dir.rstrip('/')}/{name}"
        if "artifact" not in service:
            try:
                code_files(src, item["exclude"])  # a link that leaves the release is refused up front
            except ValueError as error:
                raise ValueError(f"stack_services ({name}): {error}") from None
        # The commit names a release from git (the same commit is the same release); an
        # artifact, its digest; a directory, the digest of what is shipped.
        if release != "auto":
            release_id = str(release)
        elif "artifact" in service:
            release_id = file_digest(src)
        else:
            release_id = commit[:12] or tree_digest(src, exclude=item["exclude"])
        install = install_plan(name, src, release_id, item.get("static_dir"))
        item.update(
            {
                "src": src,
                "socket_mode": _socket_mode(service.get("socket_mode", default_mode), all_in_one),
                "group": item["user"],
                "release": release_id,
                **install,
                "dir": service_dir,
                # One virtualenv per install key and Python: a code-only release with the
                # same requirements.txt reuses it.
                "venv": f"{service_dir}/venvs/{install['install_key']}-py{python_version}",
                # Where Flask looks for the instance folder of an installed package
                # (<virtualenv>/var/<package>-instance): linked to the data area.
                "installed_instance": (
                    f"{service_dir}/venvs/{install['install_key']}-py{python_version}/var/"
                    f"{item['module'].split(':')[0].split('.')[0]}-instance"
                    if install["install"] == "artifact" and "instance" in item["data_dirs"]
                    else ""
                ),
                "unit": f"uwsgi-{name}",
                **host_paths(name, service_dir),
                "release_path": f"{service_dir}/releases/{release_id}",
                # Data that outlives releases (data_dirs live here, linked into each
                # release), and the working directory of the service and its checks.
                "data_path": f"{service_dir}/data",
                # The parents of nested data directories (uploads of uploads/images), shallow
                # first: root's, so that the service owns nothing above its data directories.
                "data_parents": _parents(item["data_dirs"]),
                # The files of `files`, written by root where the service cannot write; each
                # config_links entry (a name directly in a data directory) links to its copy.
                "config_path": f"{service_dir}/config",
                "config_links": _config_links(item["files"], item["data_dirs"]),
                "sandbox": [*SANDBOX, *([f"ReadWritePaths={service_dir}/data"] if item["data_dirs"] else [])],
            }
        )
        item["address"] = item["socket_path"] if item["socket_mode"] == "unix" else f"{bind_address}:{item['port']}"
        resolved.append(item)
    return resolved


def host_paths(name: str, service_dir: str) -> dict[str, str]:
    """Where a service's files live on an app server: the one place these paths are spelled.

    A release's own directory is `<releases_path>/<release id>` (the resolved service's
    `release_path` for the release it serves); `current_path` links to the live one.
    """
    runtime = f"/run/{name}"
    return {
        "releases_path": f"{service_dir}/releases",
        "current_path": f"{service_dir}/current",
        "previous_path": f"{service_dir}/previous",
        "env_file": f"/etc/flask_app/{name}.env",
        "ini_file": f"/etc/uwsgi/{name}/app.ini",
        "unit_file": f"/etc/systemd/system/uwsgi-{name}.service",
        # systemd makes and removes it (RuntimeDirectory=, named after the service).
        "runtime_dir": runtime,
        "socket_path": f"{runtime}/uwsgi.sock",
        "stats_socket": f"{runtime}/stats.sock",
        "master_fifo": f"{runtime}/master.fifo",
        "logreopen_file": f"{runtime}/logreopen",
    }


def _parents(paths: list[str]) -> list[str]:
    """Every proper parent of the relative paths, shallow first."""
    found = {"/".join(path.split("/")[:depth]) for path in paths for depth in range(1, path.count("/") + 1)}
    return sorted(found, key=lambda parent: (parent.count("/"), parent))


def _config_links(files: list[dict[str, Any]], data_dirs: list[str]) -> list[str]:
    """The names in the data directories that link to the config tree: for each file, the
    first path component below its data directory (instance/config.py, or instance/conf
    for instance/conf/app.cfg), so that root never writes below a directory the service owns."""
    links = set()
    for entry in files:
        dest = str(entry["dest"])
        for data_dir in data_dirs:
            if dest.startswith(data_dir + "/"):
                links.add(data_dir + "/" + dest[len(data_dir) + 1 :].split("/")[0])
    return sorted(links)


def service_secrets(services: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The secrets of each present service, by name: its secret_env and the content of each
    file given as content (by dest). The stack role sets them as a fact of their own, with
    no_log, so that no task result that shows a service shows them."""
    return {
        service["name"]: {
            "secret_env": service.get("secret_env", {}),
            "files": {entry["dest"]: entry["content"] for entry in service.get("files", []) if "content" in entry},
        }
        for service in services
        if service.get("state", "present") != "absent"
    }


def absent_services(
    services: list[dict[str, Any]], base_dir: str, default_mode: str, all_in_one: bool = False
) -> list[dict[str, Any]]:
    """The services marked `state: absent`, with what finds their remains on a host.

    Built from the name (and user) alone: the code of a removed service may be gone from the
    controller. `port` is the TCP port it listened on when the entry still says so (the
    firewall keeps refusing it until the unit is stopped), else None; `purge` also removes
    the data area, the log and the account.
    """
    found = []
    for service in services:
        if service.get("state", "present") != "absent":
            continue
        name = service["name"]
        service_dir = f"{base_dir.rstrip('/')}/{name}"
        tcp = _socket_mode(service.get("socket_mode", default_mode), all_in_one) == "tcp"
        found.append(
            {
                "name": name,
                "user": service.get("user", name),
                "group": service.get("user", name),
                "dir": service_dir,
                "data_path": f"{service_dir}/data",
                "unit": f"uwsgi-{name}",
                **host_paths(name, service_dir),
                "port": service.get("port") if tcp else None,
                "purge": bool(service.get("purge", False)),
            }
        )
    return found


def _socket_mode(mode: str, all_in_one: bool) -> str:
    if mode == "auto":
        return "unix" if all_in_one else "tcp"
    return mode


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Same tree, same bytes: the archive does not depend on who packed it or when.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


def release_archive(service: dict[str, Any], build_dir: str) -> str:
    """Path of the service's release archive on the controller, packed once per release.

    Runs on the controller while the task is templated, for every host at once; the
    archive is written to a temporary name and renamed, so concurrent packers are safe.
    """
    dest = os.path.join(build_dir, f"{service['name']}-{service['release']}.tar.gz")
    if os.path.exists(dest):
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
            for relative in code_files(service["src"], service.get("exclude", [])):
                source = os.path.realpath(os.path.join(service["src"], relative))
                archive.add(source, arcname=relative, recursive=False, filter=_normalised)
        os.chmod(partial, 0o644)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return dest


def _static_tree_name(service: dict[str, Any]) -> str:
    # The release and the static_dir it is published from (a release id given as
    # stack_release stays the same when only static_dir changes).
    where = hashlib.sha256(str(service["static_dir"]).encode()).hexdigest()[:8]
    return f"{service['name']}-{service['release']}-{where}"


def static_tree(service: dict[str, Any], build_dir: str) -> str:
    """Directory on the controller holding the service's static files, made once per release.

    Exactly the files of the release (code_files: the same selection as its archive, so
    `.env*`, IGNORED_NAMES and the service's exclude apply, and a link is its target's
    content or a refusal) that are under static_dir, at their paths below it. The nginx
    role publishes this directory, never the code tree itself. Made under a temporary name
    and renamed, so the hosts of one run can make it at the same time.
    """
    dest = os.path.join(build_dir, _static_tree_name(service))
    if os.path.isdir(dest):
        os.utime(dest)  # used now: static_trees_to_remove keeps the trees used last
        return dest
    os.makedirs(build_dir, exist_ok=True)
    partial = tempfile.mkdtemp(dir=build_dir, prefix=f".{service['name']}-")
    prefix = str(service["static_dir"]).rstrip("/") + "/"
    try:
        for relative in code_files(service["src"], service.get("exclude", [])):
            if relative.startswith(prefix):
                target = os.path.join(partial, relative[len(prefix) :])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.realpath(os.path.join(service["src"], relative)), target)
        os.chmod(partial, 0o755)
        try:
            os.rename(partial, dest)
        except OSError:
            if not os.path.isdir(dest):  # else another host of the run made the same tree first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return dest


def static_trees_to_remove(build_dir: str, services: list[dict[str, Any]], keep: int) -> list[str]:
    """What static_tree made that none of `services` (every host of the play) publishes now,
    beyond the `keep` of each service used last (static_tree marks a use): another run, of
    another stack, may be publishing one of those right now."""
    using = {_static_tree_name(s) for s in services if s.get("static_dir")}
    try:
        entries = [entry for entry in os.listdir(build_dir) if entry not in using]
    except FileNotFoundError:
        return []
    paths = sorted((os.path.join(build_dir, entry) for entry in entries), key=_last_use, reverse=True)
    kept: dict[str, int] = {}
    doomed = []
    for path in paths:
        name = os.path.basename(path).lstrip(".").split("-")[0]
        kept[name] = kept.get(name, 0) + 1
        if kept[name] > keep:
            doomed.append(path)
    return sorted(doomed)


def _last_use(path: str) -> float:
    return os.stat(path, follow_symlinks=False).st_mtime


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_resolve_services": resolve_services,
            "flask_app_absent_services": absent_services,
            "flask_app_service_secrets": service_secrets,
            "flask_app_release_archive": release_archive,
            "flask_app_static_tree": static_tree,
            "flask_app_static_trees_to_remove": static_trees_to_remove,
        }
