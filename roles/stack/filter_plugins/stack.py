"""Filters for the stack role, evaluated on the controller."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
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


SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
SOCKET_MODES = ("tcp", "unix")
# "auto": a unix socket where nginx and uWSGI share the one host of a stack
# (1.3x the requests/s of TCP loopback in `make bench`), TCP otherwise.
SOCKET_MODE_CHOICES = ("auto", *SOCKET_MODES)
ROUTE_TYPES = ("app", "static")
SERVICE_KEYS = {
    "name",
    "src",
    "module",
    "port",
    "socket_mode",
    "static_dir",
    "health_path",
    "user",
    "env",
    "smoke_paths",
}


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _check_service(index: int, service: Any, default_mode: str) -> list[str]:
    where = f"stack_services[{index}]"
    if not isinstance(service, dict):
        return [f"{where} must be a mapping, got {type(service).__name__}"]
    errors = [
        f"{where} has unknown key '{key}' (known: {', '.join(sorted(SERVICE_KEYS))})"
        for key in sorted(set(service) - SERVICE_KEYS)
    ]
    name = service.get("name")
    if not isinstance(name, str) or not SERVICE_NAME.match(name):
        errors.append(f"{where}.name must match [a-z][a-z0-9_]* (at most 31 characters), got {name!r}")
    else:
        where = f"stack_services[{index}] ({name})"
    src = service.get("src")
    if not isinstance(src, str) or not os.path.isdir(src):
        errors.append(f"{where}.src must be a directory on the controller, got {src!r}")
    elif not os.path.isfile(os.path.join(src, "requirements.txt")):
        errors.append(f"{where}.src {src} has no requirements.txt")
    if not MODULE.match(str(service.get("module", "run:app"))):
        errors.append(f"{where}.module must look like 'module:callable', got {service.get('module')!r}")
    if not _is_port(service.get("port")):
        errors.append(f"{where}.port must be an integer from 1 to 65535, got {service.get('port')!r}")
    mode = service.get("socket_mode", default_mode)
    if mode not in SOCKET_MODE_CHOICES:
        errors.append(f"{where}.socket_mode must be one of {', '.join(SOCKET_MODE_CHOICES)}, got {mode!r}")
    static_dir = service.get("static_dir")
    if static_dir is not None and isinstance(src, str) and not os.path.isdir(os.path.join(src, str(static_dir))):
        errors.append(f"{where}.static_dir {static_dir!r} is not a directory inside {src}")
    health = service.get("health_path", "/healthz")
    if not isinstance(health, str) or not health.startswith("/"):
        errors.append(f"{where}.health_path must start with '/', got {health!r}")
    smoke = service.get("smoke_paths", [])
    if not isinstance(smoke, list) or not all(isinstance(p, str) and p.startswith("/") for p in smoke):
        errors.append(f"{where}.smoke_paths must be a list of paths starting with '/', got {smoke!r}")
    if not isinstance(service.get("env", {}), dict):
        errors.append(f"{where}.env must be a mapping of variable names to values")
    return errors


def check_services(services: Any, routes: Any, default_mode: str = "tcp") -> list[str]:
    """Every problem with stack_services and stack_routes, as messages naming the variable."""
    if default_mode not in SOCKET_MODE_CHOICES:
        return [f"stack_socket_mode must be one of {', '.join(SOCKET_MODE_CHOICES)}, got {default_mode!r}"]
    if not isinstance(services, list) or not services:
        return ["stack_services must be a non-empty list of services"]
    errors: list[str] = []
    for index, service in enumerate(services):
        errors.extend(_check_service(index, service, default_mode))
    valid = [s for s in services if isinstance(s, dict)]
    for key in ("name", "port"):
        seen: dict[Any, int] = {}
        for service in valid:
            if key == "port" and service.get("socket_mode", default_mode) != "tcp":
                continue
            value = service.get(key)
            seen[value] = seen.get(value, 0) + 1
        errors.extend(
            f"stack_services: {key} {value!r} is used by {count} services; each needs its own"
            for value, count in seen.items()
            if count > 1 and value is not None
        )
    errors.extend(check_routes(routes, {s.get("name"): s for s in valid}))
    return errors


def check_routes(routes: Any, services: dict[Any, dict[str, Any]]) -> list[str]:
    if not isinstance(routes, list) or not routes:
        return ["stack_routes must be a non-empty list of routes"]
    errors: list[str] = []
    paths: set[str] = set()
    for index, route in enumerate(routes):
        where = f"stack_routes[{index}]"
        if not isinstance(route, dict):
            errors.append(f"{where} must be a mapping, got {type(route).__name__}")
            continue
        path = route.get("path")
        if not isinstance(path, str) or not path.startswith("/") or not path.endswith("/"):
            errors.append(f"{where}.path must start and end with '/', got {path!r}")
        elif path in paths:
            errors.append(f"{where}.path {path!r} is routed twice")
        else:
            paths.add(path)
        kind = route.get("type", "app")
        if kind not in ROUTE_TYPES:
            errors.append(f"{where}.type must be one of {', '.join(ROUTE_TYPES)}, got {kind!r}")
        service = services.get(route.get("service"))
        if service is None:
            errors.append(f"{where}.service {route.get('service')!r} is not defined in stack_services")
        elif kind == "static" and not service.get("static_dir"):
            errors.append(f"{where} is a static route but service {service['name']!r} has no static_dir")
    return errors


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
            "stack_check_services": check_services,
            "stack_resolve_services": resolve_services,
            "stack_release_archive": release_archive,
        }
