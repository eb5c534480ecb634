"""Filters for the app role, evaluated on the controller."""

from __future__ import annotations

from typing import Any


def releases_to_remove(found_results: list[dict[str, Any]], keep: int) -> list[str]:
    """Release directories beyond the newest `keep`, per service; the live one is never listed.

    `found_results` is the registered result of a looped `find` over each
    service's releases directory (each result carries its service as `item`).
    """
    doomed: list[str] = []
    for result in found_results:
        service = result["item"]
        live = f"{service['dir']}/releases/{service['release']}"
        newest_first = sorted(result.get("files", []), key=lambda f: f["mtime"], reverse=True)
        others = [f["path"] for f in newest_first if f["path"] != live]
        doomed.extend(others[max(keep - 1, 0) :])
    return doomed


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"app_releases_to_remove": releases_to_remove}
