"""Filters for the app role, evaluated on the controller."""

from __future__ import annotations

import hashlib
import hmac
import os
import shlex
from typing import Any


def releases_to_remove(found_results: list[dict[str, Any]], keep: int, protected: list[str] | None = None) -> list[str]:
    """Release directories beyond the newest `keep`, per service.

    The live release and every path in `protected` (the releases kept for
    rollback) are never listed. `found_results` has one entry per service: the
    service as `item` and its release directories as `files` (path, mtime), as
    the flask_app_releases module returns them.
    """
    spared = set(protected or [])
    doomed: list[str] = []
    for result in found_results:
        service = result["item"]
        live = service["release_path"]
        newest_first = sorted(result.get("files", []), key=lambda f: f["mtime"], reverse=True)
        others = [f["path"] for f in newest_first if f["path"] != live]
        doomed.extend(path for path in others[max(keep - 1, 0) :] if path not in spared)
    return doomed


def venvs_to_remove(found_results: list[dict[str, Any]], removed: list[str]) -> list[str]:
    """Virtualenvs that no release left on disk links to, once `removed` releases are gone.

    `found_results` is flask_app_releases' answer (each release with the virtualenv it links
    to, each service's virtualenv directories). A virtualenv shared by releases with the same
    requirements stays while one of them does.
    """
    gone = set(removed)
    doomed: list[str] = []
    for result in found_results:
        used = {found.get("venv") for found in result.get("files", []) if found["path"] not in gone}
        doomed.extend(venv for venv in result.get("venvs", []) if venv not in used)
    return doomed


def _venv_key(path: str) -> str:
    """The install key a virtualenv is named by: <key>-py<version>."""
    return os.path.basename(path).rsplit("-py", 1)[0]


def _wheelhouse_key(path: str) -> str:
    """The install key an offline wheelhouse is named by: <key>-cp<NN>-<cpu>."""
    return os.path.basename(path).rsplit("-", 2)[0]


def wheelhouses_to_remove(found_results: list[dict[str, Any]], removed: list[str]) -> list[str]:
    """Offline wheelhouses on the host that no virtualenv left on disk was built from.

    A wheelhouse only serves to build the virtualenv of its install key: it goes with the
    last virtualenv of that key (venvs_to_remove), so per-release keys (a pyproject project,
    an artifact) do not pile up, and a shared requirements.txt key stays while it is used.
    """
    doomed: list[str] = []
    leaving = set(venvs_to_remove(found_results, removed))
    for result in found_results:
        kept = {_venv_key(venv) for venv in result.get("venvs", []) if venv not in leaving}
        kept.add(result["item"]["install_key"])  # the release being served
        doomed.extend(w for w in result.get("wheelhouses", []) if _wheelhouse_key(w) not in kept)
    return doomed


def _newest_groups(entries: dict[str, list[str]], current: set[str], keep: int) -> list[str]:
    """Paths of the groups beyond the newest `keep` (the current ones always kept and counted)."""

    def newest(group: str) -> float:
        return max(os.stat(path, follow_symlinks=False).st_mtime for path in entries[group])

    others = sorted((g for g in entries if g not in current), key=newest, reverse=True)
    room = max(keep - len(current & set(entries)), 0)
    return sorted(path for group in others[room:] for path in entries[group])


def _children(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def controller_cache_to_remove(
    services: list[dict[str, Any]],
    in_use: list[dict[str, Any]],
    build_dir: str,
    keep: int,
) -> list[str]:
    """What the controller built for releases it no longer needs, per service of `services`.

    Two things the app role keeps grow with every release on the controller: offline wheelhouses
    (<build_dir>/wheels/<name>/<install key>-<tag>) and, for a service from git, exports
    (<stack_git_cache>/<name>-<commit>, the directory its resolved `src` is in).
    Per service and kind, the `keep` newest (by modification time) stay, always counting
    what a service of `in_use` (every host of the play) serves now. The git mirror
    (<name>.git) stays. Wheelhouses of the layout before per-service directories
    (<build_dir>/wheels/<key>-<tag>) are never read again and go too.
    """
    doomed: list[str] = []
    wheels = os.path.join(build_dir, "wheels")
    for service in services:
        name = service["name"]
        using = [s for s in in_use if s.get("name") == name]
        houses: dict[str, list[str]] = {}
        for entry in _children(os.path.join(wheels, name)):
            houses.setdefault(_wheelhouse_key(entry), []).append(os.path.join(wheels, name, entry))
        doomed += _newest_groups(houses, {s["install_key"] for s in using}, keep)
        exports: dict[str, list[str]] = {}
        git_cache = os.path.dirname(service["src"]) if "git" in service else ""
        for entry in _children(git_cache) if git_cache else []:
            path = os.path.join(git_cache, entry)
            if entry.startswith(f"{name}-") and os.path.isdir(path):
                exports[path] = [path]
        doomed += _newest_groups(exports, {s["src"] for s in using}, keep)
    doomed += [os.path.join(wheels, entry) for entry in _children(wheels) if "-" in entry]
    return doomed


def with_releases(services: list[dict[str, Any]], releases: list[str]) -> list[dict[str, Any]]:
    """The services, each set to serve the release at the same position (a rollback's targets),
    with the directory of that release as its `release_path` ('' for no release)."""
    if len(services) != len(releases):
        raise ValueError(f"{len(services)} services but {len(releases)} releases")
    return [
        {**service, "release": release, "release_path": f"{service['releases_path']}/{release}" if release else ""}
        for service, release in zip(services, releases, strict=True)
    ]


def rollback_targets(states: list[dict[str, Any]], wanted: str = "") -> list[str]:
    """The release each service goes back to, '' for none: a name read from the host, never built.

    `states` is flask_app_releases' answer. Without `wanted`, the release `previous`
    points to; with it, that release when it is one of the directories on disk. The
    answer is always the name of a directory the host listed.
    """
    targets = []
    for state in states:
        kept = {os.path.basename(found["path"]) for found in state.get("files", [])}
        choice = wanted or os.path.basename(state.get("previous", ""))
        targets.append(choice if choice in kept else "")
    return targets


def kept_releases(states: list[dict[str, Any]]) -> list[str]:
    """'service: release, release (live: id)' per service, for messages about what can be chosen."""
    return [
        f"{state['item']['name']}: "
        + (", ".join(sorted(os.path.basename(f["path"]) for f in state.get("files", []))) or "none")
        + f" (live: {state.get('live_release') or 'none'})"
        for state in states
    ]


def service_secret_key(secret: str, service: str) -> str:
    """The SECRET_KEY of one service, derived from app_secret_key: services on one domain
    do not accept each other's session cookies, and one vaulted secret still serves all."""
    return hmac.new(secret.encode(), f"flask_app SECRET_KEY {service}".encode(), hashlib.sha256).hexdigest()


def split_command(command: str) -> list[str]:
    """A one-off command line split into words as a shell would (quotes group them), run
    without a shell: `;`, `|`, `$(...)` are plain characters of an argument."""
    return shlex.split(command)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "app_releases_to_remove": releases_to_remove,
            "app_venvs_to_remove": venvs_to_remove,
            "app_wheelhouses_to_remove": wheelhouses_to_remove,
            "app_controller_cache_to_remove": controller_cache_to_remove,
            "app_with_releases": with_releases,
            "app_rollback_targets": rollback_targets,
            "app_kept_releases": kept_releases,
            "app_service_secret_key": service_secret_key,
            "app_split_command": split_command,
        }
