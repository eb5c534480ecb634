#!/usr/bin/python
"""Read-only: where each service stands (live release, virtualenvs, unit, releases on disk), in one round trip."""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_releases
short_description: Read the release state of flask_app services (read-only)
description:
  - For each service, the release `current` and `previous` point to, the
    virtualenv the live and the target release link to, whether its unit is
    active, and the release directories on disk. Changes nothing.
options:
  services:
    description:
      - Services as the stack role resolved them (unit, dir, and their paths current_path,
        previous_path, releases_path and release_path, the target release's directory).
    type: list
    elements: dict
    required: true
author: flask_app
"""

EXAMPLES = r"""
- name: Read the releases of each service
  flask_app_releases:
    services: "{{ stack_resolved_services }}"
  register: app_state
"""

RETURN = r"""
services:
  description: One entry per service, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item: {description: The service as given., type: dict}
    live_release: {description: Release `current` points to, empty if none., type: str}
    live_venv: {description: Link target of the live release's .venv, empty if none., type: str}
    target_venv: {description: Link target of the target release's .venv, empty if none., type: str}
    running: {description: Whether the unit is active., type: bool}
    previous: {description: Link target of `previous`, empty if none., type: str}
    previous_after: {description: What `previous` names once the target release is live., type: str}
    files: {description: Release directories with path, mtime and the virtualenv they link to (venv)., type: list}
    venvs: {description: Virtualenv directories of the service., type: list}
    wheelhouses: {description: Offline wheelhouses of the service (<dir>/wheels/<key>-<tag>)., type: list}
"""


def link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def release_dirs(releases: str) -> list[dict[str, Any]]:
    found = []
    try:
        entries = list(os.scandir(releases))
    except OSError:
        return []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found.append(
                {
                    "path": entry.path,
                    "mtime": entry.stat(follow_symlinks=False).st_mtime,
                    "venv": link_target(f"{entry.path}/.venv"),
                }
            )
    return found


def subdirs(parent: str) -> list[str]:
    try:
        return sorted(entry.path for entry in os.scandir(parent) if entry.is_dir(follow_symlinks=False))
    except OSError:
        return []


def service_state(module: AnsibleModule, service: dict[str, Any]) -> dict[str, Any]:
    releases = service["releases_path"]
    live = os.path.basename(link_target(service["current_path"]))
    previous = link_target(service["previous_path"])
    rc, _, _ = module.run_command(["systemctl", "is-active", "--quiet", service["unit"]])
    return {
        "item": service,
        "live_release": live,
        "live_venv": link_target(f"{service['current_path']}/.venv"),
        "target_venv": link_target(f"{service['release_path']}/.venv"),
        "running": rc == 0,
        "previous": previous,
        # A switch to another release makes the live one `previous`.
        "previous_after": f"{releases}/{live}" if live and live != service["release"] else previous,
        "files": release_dirs(releases),
        "venvs": subdirs(f"{service['dir']}/venvs"),
        "wheelhouses": subdirs(f"{service['dir']}/wheels"),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={"services": {"type": "list", "elements": "dict", "required": True}},
        supports_check_mode=True,
    )
    module.exit_json(changed=False, services=[service_state(module, s) for s in module.params["services"]])


if __name__ == "__main__":
    main()
