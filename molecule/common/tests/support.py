"""Helpers for the release tests: a bounded load loop, playbook runs, app variants."""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests
import yaml

PROJECT = Path(__file__).resolve().parents[3]
MEASUREMENTS = PROJECT / ".cache" / "logs" / "measurements.txt"
# One line per playbook run of the tests: what the suite's time is made of (docs/testing.md).
PLAYBOOK_RUNS = PROJECT / ".cache" / "logs" / "playbook-runs.txt"
# Where the uwsgi role installs its probe on app hosts (written once, in its vars/main.yml).
UWSGI_PROBE = yaml.safe_load((PROJECT / "roles" / "uwsgi" / "vars" / "main.yml").read_text(encoding="utf-8"))[
    "uwsgi_probe"
]


def record(line: str) -> None:
    """Keep a measured figure: printed by the test and collected in .cache/logs/measurements.txt."""
    print(f"\n{line}")
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    with MEASUREMENTS.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


class Load:
    """GET / in a loop from a few threads until stopped; bounded in time and count.

    A request fails when it gets no 200, or when it takes longer than `slow_seconds`:
    a worker that hangs in a reload holds its requests for tens of seconds before it
    is killed, and such a request must not pass as served. The client gives up at
    `timeout` seconds. `slowest` is the longest request seen (failed or not).

    Each thread starts a request every `interval` seconds at most (4 threads: up to
    80 requests/s), so that a gap of a few tens of milliseconds in a reload is hit
    while the loop leaves the CPUs to the playbook it watches: unpaced, the loop and
    the server answering it took 1.2 of this machine's 2 CPUs (docs/testing.md).
    """

    def __init__(
        self,
        url: str,
        threads: int = 4,
        max_seconds: float = 600,
        max_requests: int = 200_000,
        slow_seconds: float = 5.0,
        timeout: float = 10.0,
        verify: bool | str = True,
        interval: float = 0.05,
    ) -> None:
        self.url, self.max_seconds, self.max_requests, self.interval = url, max_seconds, max_requests, interval
        self.slow_seconds, self.timeout, self.verify = slow_seconds, timeout, verify
        self.ok = 0
        self.failures: list[str] = []
        self.slow = 0
        self.slowest = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        session = requests.Session()
        session.trust_env = False
        session.verify = self.verify
        # A connection per request: an idle keep-alive connection that a reloading nginx
        # closes is retried by browsers (RFC 9112, 9.3.1) but not by requests; a new
        # connection each time counts what the server itself refuses or drops.
        session.headers["Connection"] = "close"
        while not self._stop.is_set() and time.monotonic() < deadline and self.ok < self.max_requests:
            started, at = time.monotonic(), time.strftime("%H:%M:%S")
            try:
                response = session.get(self.url, timeout=self.timeout)
                failure = None if response.status_code == 200 else f"{response.status_code} {response.text[:80]}"
            except requests.RequestException as error:
                failure = f"{type(error).__name__}: {error}"
            seconds = time.monotonic() - started
            slow = seconds > self.slow_seconds
            if slow and failure is None:
                failure = f"slow: {seconds:.1f} s"
            with self._lock:
                self.slowest = max(self.slowest, seconds)
                self.slow += slow
                if failure:
                    self.failures.append(f"{at} {failure}")
                else:
                    self.ok += 1
            self._stop.wait(self.interval - seconds)

    def summary(self) -> str:
        """Requests served, failed (slow ones included) and the slowest, for record()."""
        return (
            f"{self.ok + len(self.failures)} requests, {len(self.failures)} failed "
            f"({self.slow} slower than {self.slow_seconds:g} s), slowest {self.slowest:.2f} s"
        )

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def playbook(
    name: str, limit: str, extra: dict[str, Any] | None = None, *options: str
) -> subprocess.CompletedProcess[str]:
    """Run one of the project's playbooks against the scenario's inventory, as a user would.
    Its output times every task (ansible.posix.profile_tasks, each scenario's molecule.yml)."""
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    command = ["ansible-playbook", "-i", str(inventory), str(PROJECT / "playbooks" / name), "--limit", limit]
    if extra:
        command += ["--extra-vars", json.dumps(extra)]
    command += list(options)
    env = {**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    started, cpu_before = time.monotonic(), children_cpu()
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    seconds, cpu = time.monotonic() - started, children_cpu() - cpu_before
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    PLAYBOOK_RUNS.parent.mkdir(parents=True, exist_ok=True)
    with PLAYBOOK_RUNS.open("a", encoding="utf-8") as handle:
        handle.write(
            f"{time.strftime('%H:%M:%S')} {seconds:6.1f} s, controller CPU {cpu:5.1f} s, rc {run.returncode}: "
            f"{name} --limit {limit} {' '.join(options)} ({test})\n"
        )
    return run


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: ansible-playbook and its forks."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fetch_inside(host: Any, url: str, headers: dict[str, str] | None = None, verify: bool = True) -> tuple[int, str]:
    """GET `url` from inside a test host (no curl on a minimal Debian): (0, headers and body) or (1, the error).
    `verify=False` accepts any certificate (the host does not trust the test CA)."""
    context = "None" if verify else "ssl._create_unverified_context()"
    code = (
        "import ssl, sys, urllib.request\n"
        "try:\n"
        f"    request = urllib.request.Request({url!r}, headers={headers or {}!r})\n"
        f"    r = urllib.request.urlopen(request, timeout=5, context={context})\n"
        "    print(r.status); print(dict(r.headers)); print(r.read().decode())\n"
        "except OSError as error:\n"
        "    print(error); sys.exit(1)\n"
    )
    result = host.run(f"python3 -c {shlex.quote(code)}")
    return result.rc, result.stdout + result.stderr


def release_of(base_url: str, verify: bool | str = True) -> str:
    return requests.get(base_url + "/healthz", timeout=10, verify=verify).json()["release"]


DEFAULT_SERVICE = {
    "name": "flask_app",
    "module": "run:app",
    "port": 8080,
    "static_dir": "app/static",
    "health_path": "/healthz",
}


def variant(
    tmp: Path, name: str, change: str, others: list[dict[str, Any]] | None = None, css: str = ""
) -> dict[str, Any]:
    """Extra vars deploying a copy of the app with `change` appended to its views and `css` to its
    stylesheet (plus `others` as they are)."""
    src = tmp / name
    shutil.copytree(PROJECT / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    views = src / "app" / "views.py"
    views.write_text(views.read_text(encoding="utf-8") + change, encoding="utf-8")
    style = src / "app" / "static" / "css" / "style.css"
    style.write_text(style.read_text(encoding="utf-8") + css, encoding="utf-8")
    return {"stack_services": [{**DEFAULT_SERVICE, "src": str(src)}, *(others or [])]}
