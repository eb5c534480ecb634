"""Filters that resolve the services, evaluated on the controller: pure functions of their
arguments (no file, process or network is touched here).

The stack role resolves the services with them (flask_app_resolve_services,
flask_app_absent_services) from the inventory's stack_services and the run's release
manifest, which the release step (plugins/action/flask_app_release.py) built once for every
host of the run.
"""

from __future__ import annotations

import importlib.util
import re
import sys
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


def resolve_services(
    services: list[dict[str, Any]],
    manifest: dict[str, dict[str, Any]],
    base_dir: str,
    default_mode: str,
    python_version: str,
    all_in_one: bool = False,
    bind_address: str = "127.0.0.1",
) -> list[dict[str, Any]]:
    """Fill in every default once, so no role recomputes a path, user or release id.

    manifest: the run's release of each service, by name (the release step's `manifest`,
    the fact stack_release_manifest): where its code is, its release id, install plan,
    archive and static tree, the same for every host.
    all_in_one: this stack is one host running both nginx and uWSGI ("auto" means unix then).
    bind_address: where this host's TCP sockets listen; with the mode it gives `address`,
    the one place the service is reached on this host (health checks, probes).
    """
    resolved = []
    for service in services:
        if service.get("state", "present") == "absent":
            continue  # removed, not served: absent_services() describes what is left of it
        name = service["name"]
        release = manifest[name]
        item = schema.with_defaults(service)
        # Secrets stay out of this fact, which task results print (-v) and every host reads:
        # service_secrets() holds them. A file keeps its dest (and src, a controller path).
        item.pop("secret_env", None)
        item["files"] = [{k: v for k, v in entry.items() if k != "content"} for entry in item["files"]]
        if "git" in service:  # a token in the repository's URL is a secret too
            item["git"] = {"repo": redact(str(service["git"]["repo"])), "version": service["git"]["version"]}
        service_dir = f"{base_dir.rstrip('/')}/{name}"
        install_key = release["install_key"]
        item.update(
            {
                # From the release step: exclude with the data directories added (data is never code).
                **{key: release[key] for key in ("src", "release", "exclude", "install", "install_key")},
                "archive": release["archive"],
                "static_tree": release["static_tree"],
                "socket_mode": _socket_mode(service.get("socket_mode", default_mode), all_in_one),
                "group": item["user"],
                "dir": service_dir,
                # One virtualenv per install key and Python: a code-only release with the
                # same requirements.txt reuses it.
                "venv": f"{service_dir}/venvs/{install_key}-py{python_version}",
                # Where Flask looks for the instance folder of an installed package
                # (<virtualenv>/var/<package>-instance): linked to the data area.
                "installed_instance": (
                    f"{service_dir}/venvs/{install_key}-py{python_version}/var/"
                    f"{item['module'].split(':')[0].split('.')[0]}-instance"
                    if release["install"] == "artifact" and "instance" in item["data_dirs"]
                    else ""
                ),
                "unit": f"uwsgi-{name}",
                **host_paths(name, service_dir),
                "release_path": f"{service_dir}/releases/{release['release']}",
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


# What the release step reads of a service (plugins/action/flask_app_release.py).
RELEASE_SOURCE_KEYS = ("name", "state", "git", "src", "artifact", "exclude", "data_dirs", "static_dir")


def release_sources(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of each service, only what its release is made from: no environment, secret or file
    content goes to the release step. (A git URL may still hold a token: the task that
    keeps these is no_log.)"""
    return [{key: service[key] for key in RELEASE_SOURCE_KEYS if key in service} for service in services]


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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "flask_app_resolve_services": resolve_services,
            "flask_app_absent_services": absent_services,
            "flask_app_service_secrets": service_secrets,
            "flask_app_release_sources": release_sources,
        }
