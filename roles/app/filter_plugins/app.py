"""Filters for the app role, evaluated on the controller."""

from __future__ import annotations

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


def with_releases(services: list[dict[str, Any]], releases: list[str]) -> list[dict[str, Any]]:
    """The services, each set to serve the release at the same position (a rollback's targets)."""
    if len(services) != len(releases):
        raise ValueError(f"{len(services)} services but {len(releases)} releases")
    return [{**service, "release": release} for service, release in zip(services, releases, strict=True)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"app_releases_to_remove": releases_to_remove, "app_with_releases": with_releases}
