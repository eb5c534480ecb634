#!/usr/bin/python
"""Read-only health report of one flask_app host, in one round trip."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: flask_app_status
short_description: Report the health of a flask_app host (read-only)
description:
  - Reads systemd, the uWSGI stats socket of each service, nginx stub_status,
    the recent access log and the disk used by releases and logs. Changes nothing.
  - uWSGI stats are read by the probe the uwsgi role installs on app hosts
    (C(uwsgi_probe.py --stats-json)), the one reader of uWSGI stats.
options:
  services:
    description:
      - Services of this host, as the stack role resolved them (name, unit, stats_socket, and the
        paths releases_path, current_path and previous_path).
    type: list
    elements: dict
    default: []
  nginx:
    description: Whether this host runs the nginx front end.
    type: bool
    default: false
  stub_status_url:
    description: URL of nginx stub_status; empty to skip.
    type: str
    default: ""
  access_log:
    description: nginx access log of the site (main or json lines).
    type: path
    default: ""
  maintenance_dir:
    description:
      - Directory of the nginx role's maintenance states (one C(<service>.conf) each); empty to skip.
        A service whose state is on is reported as a warning.
    type: path
    default: ""
  window_minutes:
    description: How far back the access log counts as recent.
    type: int
    default: 15
  disk_paths:
    description: Directories whose disk use is reported (releases, logs).
    type: list
    elements: path
    default: []
  tls_certificate:
    description:
      - The site's live certificate (PEM) on a web host with TLS on; its expiry is reported, and it is a
        problem inside the last sixth of its lifetime. Empty when TLS is off.
    type: path
    default: ""
  acme_state:
    description:
      - The state file of flask-app-acme (nginx_tls_mode acme); a failed last renewal is a problem.
        Empty in the other modes.
    type: path
    default: ""
  probe:
    description:
      - The uWSGI probe the uwsgi role installs, which reads each service's stats socket
        (the status role's input status_uwsgi_probe).
    type: path
    required: true
author: flask_app
"""

EXAMPLES = r"""
- name: Read the health of this host
  flask_app_status:
    services: "{{ stack_resolved_services }}"
    probe: "{{ status_uwsgi_probe }}"
    nginx: true
    stub_status_url: http://127.0.0.1:8090/stub_status
    access_log: /var/log/nginx/flask_app.access.log
    disk_paths: [/srv/flask_app, /var/log/nginx, /var/log/uwsgi]
"""

RETURN = r"""
services:
  description: >-
    Per service - unit state, live release, the releases kept on disk (id, date, live or previous),
    workers busy/idle, requests, respawns, harakiri kills.
  type: list
  returned: always
nginx:
  description: nginx unit state, stub_status counters, recent requests and 5xx, services in maintenance.
  type: dict
  returned: always
disk:
  description: Bytes used under each of disk_paths.
  type: dict
  returned: always
problems:
  description: What is unhealthy on this host, one sentence each; empty when healthy.
  type: list
  returned: always
warnings_:
  description: Worth a look but not a failure (all workers busy, recent 5xx).
  type: list
  returned: always
"""


# The line the nginx role's state file (flask_app-maintenance/service.conf.j2) has when on.
MAINTENANCE_ON = "# maintenance: on"
MAIN_LINE = re.compile(r'\[(?P<time>[^\]]+)\] "[^"]*" (?P<status>\d{3}) ')
TAIL_BYTES = 4 * 1024 * 1024


def unit_state(unit: str) -> str:
    try:
        result = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"


def read_stats(path: str, probe: str) -> dict[str, Any] | None:
    """The uWSGI stats document of one service, as the uwsgi role's probe reads it; None when
    the stats server does not answer (or the probe is not installed: no app was deployed)."""
    try:
        done = subprocess.run(
            [sys.executable, probe, "--stats-json", path], capture_output=True, text=True, check=False, timeout=15
        )
        document = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return document if isinstance(document, dict) else None


def worker_rss(worker: dict[str, Any]) -> int:
    """Resident bytes of a uWSGI worker, read from /proc.

    uWSGI fills its own `rss` only with memory-report on, which costs a /proc
    read after every request (uwsgi_memory_report); this costs one per status run.
    """
    try:
        with open(f"/proc/{int(worker['pid'])}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, KeyError, TypeError, ValueError, IndexError):
        return int(worker.get("rss", 0))


def kept_releases(service: dict[str, Any]) -> list[dict[str, str]]:
    """The releases on disk, newest first: id, when it was unpacked (UTC), and whether it is
    the live one or the one kept for rollback (what rollback.yml -e release=<id> can take)."""
    roles = {}
    for path, role in ((service["current_path"], "live"), (service["previous_path"], "previous")):
        if os.path.islink(path):
            roles[os.path.basename(os.path.realpath(path))] = role
    try:
        entries = [e for e in os.scandir(service["releases_path"]) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime, reverse=True)
    return [
        {
            "id": entry.name,
            "date": datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC).strftime("%Y-%m-%d %H:%M"),
            "role": roles.get(entry.name, ""),
        }
        for entry in entries
    ]


def service_report(service: dict[str, Any], probe: str) -> dict[str, Any]:
    current = service["current_path"]
    report: dict[str, Any] = {
        "name": service["name"],
        "unit": service["unit"],
        "state": unit_state(service["unit"]),
        "release": os.path.basename(os.path.realpath(current)) if os.path.islink(current) else None,
        "releases": kept_releases(service),
        "stats": False,
    }
    stats = read_stats(service["stats_socket"], probe)
    if stats:
        workers = stats.get("workers", [])
        report.update(
            stats=True,
            workers=len(workers),
            busy=sum(1 for w in workers if w.get("status") == "busy"),
            idle=sum(1 for w in workers if w.get("status") == "idle"),
            requests=sum(w.get("requests", 0) for w in workers),
            requests_per_worker=[w.get("requests", 0) for w in workers],
            exceptions=sum(w.get("exceptions", 0) for w in workers),
            # Every spawn counts, the first included: restarts are the ones after it.
            respawns=sum(max(0, w.get("respawn_count", 1) - 1) for w in workers),
            harakiri=sum(w.get("harakiri_count", 0) for w in workers),
            rss_mb=round(sum(worker_rss(w) for w in workers) / 1048576),
            listen_queue=stats.get("listen_queue", 0),
            listen_queue_errors=stats.get("listen_queue_errors", 0),
        )
    return report


def stub_status(url: str) -> dict[str, int] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except (OSError, ValueError):
        return None
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) < 7:
        return None
    keys = ["active", "accepts", "handled", "requests", "reading", "writing", "waiting"]
    return dict(zip(keys, numbers[:7], strict=True))


def line_time_status(line: str) -> tuple[datetime, int] | None:
    """Time and status of an access log line, main or JSON format."""
    if line.startswith("{"):
        try:
            entry = json.loads(line)
            return datetime.fromisoformat(entry["time"]), int(entry["status"])
        except (ValueError, KeyError, TypeError):
            return None
    match = MAIN_LINE.search(line)
    if not match:
        return None
    try:
        return datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z"), int(match["status"])
    except ValueError:
        return None


def recent_requests(path: str, minutes: int) -> dict[str, int]:
    counts = {"requests": 0, "errors_5xx": 0}
    try:
        with open(path, "rb") as log:
            log.seek(max(0, os.path.getsize(path) - TAIL_BYTES))
            lines = log.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return counts
    since = datetime.now(UTC) - timedelta(minutes=minutes)
    for line in lines:
        parsed = line_time_status(line)
        if parsed and parsed[0] >= since:
            counts["requests"] += 1
            counts["errors_5xx"] += parsed[1] >= 500
    return counts


def services_in_maintenance(directory: str) -> list[str]:
    """The services whose maintenance state in `directory` is on, by name, sorted."""
    try:
        states = [entry for entry in os.scandir(directory) if entry.name.endswith(".conf") and entry.is_file()]
    except OSError:
        return []
    on = []
    for state in states:
        with contextlib.suppress(OSError, UnicodeDecodeError), open(state.path, encoding="utf-8") as handle:
            if MAINTENANCE_ON in (line.strip() for line in handle):
                on.append(state.name.removesuffix(".conf"))
    return sorted(on)


def certificate_validity(path: str) -> dict[str, Any] | None:
    """notBefore and notAfter of the first certificate of a PEM file (read with openssl), or None."""
    try:
        done = subprocess.run(
            ["openssl", "x509", "-in", path, "-noout", "-startdate", "-enddate"],
            capture_output=True,
            text=True,
            check=False,
            timeout=15,
        )
        dates = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        return {
            key: datetime.strptime(dates[key], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
            for key in ("notBefore", "notAfter")
        }
    except (OSError, subprocess.TimeoutExpired, KeyError, ValueError):
        return None


def certificate_report(path: str, problems: list[str]) -> dict[str, Any]:
    """Expiry of the site's certificate; a problem when it is unreadable or inside the last
    sixth of its lifetime (ACME renews at a third: two missed chances at least)."""
    validity = certificate_validity(path)
    if validity is None:
        problems.append(f"the certificate {path} cannot be read")
        return {"path": path}
    lifetime, left = validity["notAfter"] - validity["notBefore"], validity["notAfter"] - datetime.now(UTC)
    report = {
        "path": path,
        "not_after": validity["notAfter"].strftime("%Y-%m-%d %H:%M UTC"),
        "days_left": left.days,
        "lifetime_days": lifetime.days,
    }
    if left <= lifetime / 6:
        problems.append(
            f"the certificate {path} expires {report['not_after']} ({left.days} days left, inside the"
            f" last sixth of its {lifetime.days}-day lifetime)"
        )
    return report


def acme_report(path: str, certificate: str, problems: list[str], warnings: list[str]) -> dict[str, Any]:
    """The last attempt flask-app-acme recorded; a problem when it failed."""
    try:
        with open(path, encoding="utf-8") as file:
            attempt = json.load(file).get("last_attempt") or {}
    except (OSError, ValueError, AttributeError):
        warnings.append(f"no ACME renewal recorded yet ({path})")
        return {}
    if attempt.get("result") != "ok":
        problems.append(
            f"the last ACME renewal of the certificate {certificate} failed at {attempt.get('time')}:"
            f" {str(attempt.get('message', ''))[:300]}"
        )
    return {"result": attempt.get("result"), "time": attempt.get("time")}


def disk_used(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            # A file rotated away while we walk is simply not counted.
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "services": {"type": "list", "elements": "dict", "default": []},
            "nginx": {"type": "bool", "default": False},
            "stub_status_url": {"type": "str", "default": ""},
            "access_log": {"type": "path", "default": ""},
            "maintenance_dir": {"type": "path", "default": ""},
            "window_minutes": {"type": "int", "default": 15},
            "disk_paths": {"type": "list", "elements": "path", "default": []},
            "probe": {"type": "path", "required": True},
            "tls_certificate": {"type": "path", "default": ""},
            "acme_state": {"type": "path", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    problems: list[str] = []
    # Worth a look, not a failure: saturation and recent 5xx.
    warnings: list[str] = []
    services = [service_report(service, params["probe"]) for service in params["services"]]
    for service in services:
        if service["state"] != "active":
            problems.append(f"service {service['name']} ({service['unit']}) is {service['state']}")
        elif not service["stats"]:
            problems.append(f"service {service['name']}: no answer on its uWSGI stats socket")
        elif service["busy"] == service["workers"]:
            warnings.append(f"service {service['name']}: all {service['workers']} workers busy")
    nginx: dict[str, Any] = {}
    if params["nginx"]:
        nginx["state"] = unit_state("nginx")
        if nginx["state"] != "active":
            problems.append(f"nginx is {nginx['state']}")
        if params["stub_status_url"]:
            nginx["stub_status"] = stub_status(params["stub_status_url"])
            if nginx["stub_status"] is None and nginx["state"] == "active":
                problems.append(f"nginx stub_status does not answer at {params['stub_status_url']}")
        if params["access_log"]:
            nginx.update(recent_requests(params["access_log"], params["window_minutes"]))
            if nginx["errors_5xx"]:
                warnings.append(
                    f"nginx answered {nginx['errors_5xx']} of {nginx['requests']} requests with 5xx"
                    f" in the last {params['window_minutes']} minutes"
                )
    if params["nginx"] and params["maintenance_dir"]:
        nginx["maintenance"] = services_in_maintenance(params["maintenance_dir"])
        if nginx["maintenance"]:
            warnings.append(
                f"maintenance mode is on for {', '.join(nginx['maintenance'])}: their pages answer 503"
                " (playbooks/maintenance.yml -e state=off turns it off)"
            )
    if params["nginx"] and params["tls_certificate"]:
        nginx["certificate"] = certificate_report(params["tls_certificate"], problems)
        if params["acme_state"]:
            nginx["acme"] = acme_report(params["acme_state"], params["tls_certificate"], problems, warnings)
    disk = {path: disk_used(path) for path in params["disk_paths"] if os.path.isdir(path)}
    module.exit_json(changed=False, services=services, nginx=nginx, disk=disk, problems=problems, warnings_=warnings)


if __name__ == "__main__":
    main()
