"""Filters for the stack role, evaluated on the controller."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import tempfile
from typing import Any

# Interpreter and tool caches: they differ between machines, never between releases.
IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".venv"}
IGNORED_SUFFIXES = (".pyc", ".pyo")


def code_files(root: str) -> list[str]:
    """Relative paths of the files that make up a release, sorted."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in IGNORED_NAMES)
        for name in files:
            if name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES):
                continue
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


def tree_digest(root: str, length: int = 12) -> str:
    """SHA-256 over names and contents of a code tree: equal trees give equal release ids."""
    if not os.path.isdir(root):
        raise ValueError(f"tree_digest: {root} is not a directory")
    digest = hashlib.sha256()
    for relative in code_files(root):
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


def resolve_services(
    services: list[dict[str, Any]],
    release: str,
    base_dir: str,
    default_mode: str,
    python_version: str,
    all_in_one: bool = False,
    bind_address: str = "127.0.0.1",
) -> list[dict[str, Any]]:
    """Fill in every default once, so no role recomputes a path, user or release id.

    all_in_one: this stack is one host running both nginx and uWSGI ("auto" means unix then).
    bind_address: where this host's TCP sockets listen; with the mode it gives `address`,
    the one place the service is reached on this host (health checks, probes).
    """
    resolved = []
    for service in services:
        name = service["name"]
        src = os.path.normpath(service["src"])
        item = {
            "module": "run:app",
            "health_path": "/healthz",
            "static_dir": None,
            "user": name,
            "env": {},
            "smoke_paths": [],
            **service,
        }
        requirements_digest = file_digest(os.path.join(src, "requirements.txt"))
        service_dir = f"{base_dir.rstrip('/')}/{name}"
        item.update(
            {
                "src": src,
                "socket_mode": _socket_mode(service.get("socket_mode", default_mode), all_in_one),
                "group": item["user"],
                "release": tree_digest(src) if release == "auto" else str(release),
                "requirements_digest": requirements_digest,
                "dir": service_dir,
                # One virtualenv per requirements file and Python: a code-only release reuses it.
                "venv": f"{service_dir}/venvs/{requirements_digest}-py{python_version}",
                "unit": f"uwsgi-{name}",
                "socket_path": f"/run/{name}/uwsgi.sock",
                "stats_socket": f"/run/{name}/stats.sock",
                "sandbox": list(SANDBOX),
            }
        )
        item["address"] = item["socket_path"] if item["socket_mode"] == "unix" else f"{bind_address}:{item['port']}"
        resolved.append(item)
    return resolved


def _socket_mode(mode: str, all_in_one: bool) -> str:
    if mode == "auto":
        return "unix" if all_in_one else "tcp"
    return mode


def _skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = info.name.split("/")
    if any(part in IGNORED_NAMES for part in parts) or info.name.endswith(IGNORED_SUFFIXES):
        return None
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
            for name in sorted(os.listdir(service["src"])):
                archive.add(os.path.join(service["src"], name), arcname=name, filter=_skip)
        os.chmod(partial, 0o644)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return dest


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "stack_tree_digest": tree_digest,
            "stack_file_digest": file_digest,
            "stack_code_files": code_files,
            "stack_resolve_services": resolve_services,
            "stack_release_archive": release_archive,
        }
