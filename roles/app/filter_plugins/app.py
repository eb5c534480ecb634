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
        live = f"{service['dir']}/releases/{service['release']}"
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


def with_releases(services: list[dict[str, Any]], releases: list[str]) -> list[dict[str, Any]]:
    """The services, each set to serve the release at the same position (a rollback's targets)."""
    if len(services) != len(releases):
        raise ValueError(f"{len(services)} services but {len(releases)} releases")
    return [{**service, "release": release} for service, release in zip(services, releases, strict=True)]


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
            "app_with_releases": with_releases,
            "app_rollback_targets": rollback_targets,
            "app_kept_releases": kept_releases,
            "app_service_secret_key": service_secret_key,
            "app_split_command": split_command,
        }
