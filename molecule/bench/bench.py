#!/usr/bin/env python3
"""`make bench`: deploy the stack to a fresh local container with site.yml, then measure it
side by side with the usual alternatives, in one run, on the same host.

Throughput is measured with wrk inside the container's network namespace (nsenter), on
127.0.0.1: through a published port docker-proxy would be the bottleneck, not us.
Every figure that matters is a ratio between two measurements of this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONTAINER = "flask-app-bench"
SERVICE_DIR = "/srv/flask_app/flask_app"
DOC = PROJECT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Run:
    name: str
    path: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, text=True, capture_output=True)


def in_container(script: str, check: bool = True) -> str:
    result = sh("docker", "exec", CONTAINER, "bash", "-ec", script, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"in {CONTAINER}: {script}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_container(debian: str) -> None:
    sh("docker", "rm", "-f", CONTAINER, check=False)
    image = f"{os.environ.get('FLASK_APP_IMAGE_PREFIX', 'flask-app-debian')}:{debian}"
    sh(
        "docker", "run", "-d", "--name", CONTAINER, "--hostname", CONTAINER,
        "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3",
        image, "/lib/systemd/systemd",
    )  # fmt: skip
    for _ in range(60):
        state = sh("docker", "exec", CONTAINER, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    raise RuntimeError(f"systemd in {CONTAINER} did not come up")


def write_inventory(tmp: Path) -> Path:
    """An inventory as docs/operations.md describes, for the one bench host."""
    inventory = tmp / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n"
        f"    web:\n      hosts:\n        {CONTAINER}:\n"
        f"    app:\n      hosts:\n        {CONTAINER}:\n"
        "  vars:\n    ansible_connection: docker\n",
        encoding="utf-8",
    )
    ca = os.environ.get("FLASK_APP_EXTRA_CA", "/etc/ssl/certs/ca-certificates.crt")
    (inventory / "group_vars" / "all" / "main.yml").write_text(
        "app_secret_key: bench-secret-key-not-for-production\n" + (f"app_pip_extra_ca_cert: {ca}\n" if ca else ""),
        encoding="utf-8",
    )
    return inventory


# The strategies timed against each other: the project's (ansible.cfg: flask_app_linear, through
# Mitogen) and Ansible's stock linear strategy, pipelining on for both.
STRATEGIES = {"ours": {}, "stock linear": {"ANSIBLE_STRATEGY": "linear"}}


def timed_playbook(inventory: Path, name: str, *extra: str, strategy: str = "ours") -> float:
    env = {**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), **STRATEGIES[strategy]}
    started = time.monotonic()
    result = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(PROJECT / "playbooks" / name), *extra],
        text=True, capture_output=True, env=env, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return elapsed


def code_only_variant(tmp: Path) -> str:
    """A copy of the app for code-only releases (same requirements); code_only_deploy changes a view."""
    src = tmp / "app-next"
    shutil.copytree(PROJECT / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))
    return json.dumps(
        {
            "stack_services": [
                {
                    "name": "flask_app",
                    "src": str(src),
                    "port": 8080,
                    "static_dir": "app/static",
                    "health_path": "/healthz",
                }
            ]
        }
    )


def code_only_deploy(inventory: Path, tmp: Path, services: str, strategy: str) -> float:
    """deploy.yml of a new release that differs from the live one by one line of one view."""
    views = tmp / "app-next" / "app" / "views.py"
    views.write_text(
        views.read_text(encoding="utf-8") + f"\n# bench: a code-only change, {time.monotonic_ns()}\n", encoding="utf-8"
    )
    return timed_playbook(inventory, "deploy.yml", "-e", services, strategy=strategy)


def paired(label: str, rounds: int, run: Callable[[str], float]) -> dict[str, float]:
    """`run(strategy)` for each strategy in turn, round after round, the order turning each round
    (A B, B A, ...: a slow minute of the machine hits both alike); the medians, and the median of
    the ratios round by round."""
    times: dict[str, list[float]] = {strategy: [] for strategy in STRATEGIES}
    for round_no in range(rounds):
        order = list(STRATEGIES)
        for strategy in order[round_no % 2 :] + order[: round_no % 2]:
            times[strategy].append(run(strategy))
    ratios = [a / b for a, b in zip(times["ours"], times["stock linear"], strict=True)]
    for strategy, runs in times.items():
        print(f"bench: {label}, {strategy} (s): {' '.join(f'{t:.1f}' for t in runs)}", file=sys.stderr)
    return {
        f"{label} (s)": statistics.median(times["ours"]),
        f"{label}, stock linear (s)": statistics.median(times["stock linear"]),
        f"{label}, ours / stock linear (ratio)": statistics.median(ratios),
    }


def install_references(workers: int) -> None:
    """nginx `return 200`, nginx static alone, the seed's naive uWSGI and gunicorn, each behind this nginx."""
    conf = (HERE / "references.conf").read_text(encoding="utf-8")
    in_container(
        f"cat > /etc/nginx/conf.d/bench-references.conf <<'EOF'\n{conf}\nEOF\nnginx -t -q && systemctl reload nginx"
    )
    seed = (PROJECT / "app" / "app.ini").read_text(encoding="utf-8").replace("socket = :8080", "socket = :9090")
    # Idempotent, so a --serve-only run can install them again.
    in_container(
        "systemctl stop bench-seed-uwsgi bench-gunicorn 2>/dev/null || true; "
        "systemctl reset-failed bench-seed-uwsgi bench-gunicorn 2>/dev/null || true"
    )
    in_container(
        f"mkdir -p /opt/bench && cat > /opt/bench/seed.ini <<'EOF'\n{seed}\nEOF\n"
        f"cd {SERVICE_DIR}/current && systemd-run --unit bench-seed-uwsgi --property=User=flask_app "
        f"--working-directory={SERVICE_DIR}/current uwsgi --plugins python3 --ini /opt/bench/seed.ini "
        f"--virtualenv {SERVICE_DIR}/current/.venv --logto /tmp/bench-seed.log"
    )
    in_container(
        "[ -x /opt/bench/gunicorn/bin/python ] || python3 -m venv /opt/bench/gunicorn; "
        "/opt/bench/gunicorn/bin/pip install -q --cert /etc/ssl/certs/ca-certificates.crt "
        f"-r {SERVICE_DIR}/current/requirements.txt gunicorn==23.0.0 && "
        f"systemd-run --unit bench-gunicorn --property=User=flask_app --working-directory={SERVICE_DIR}/current "
        f"/opt/bench/gunicorn/bin/gunicorn --workers {workers} --bind 127.0.0.1:9091 run:app"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ok = all(
            in_container(
                f"python3 -c \"import urllib.request as u; print(u.urlopen('{url}').status)\"", check=False
            ).strip()
            == "200"
            for url in ("http://127.0.0.1:8003/healthz", "http://127.0.0.1:8004/healthz", "http://127.0.0.1:8001/")
        )
        if ok:
            return
        time.sleep(1)
    raise RuntimeError("the reference servers did not answer")


def container_pid() -> str:
    return sh("docker", "inspect", "-f", "{{.State.Pid}}", CONTAINER).stdout.strip()


def wrk(url: str, connections: int, seconds: int) -> str:
    threads = str(min(connections, 2))
    return sh(
        "nsenter", "-t", container_pid(), "-n",
        "wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "--latency", url,
    ).stdout  # fmt: skip


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(name: str, path: str, connections: int, out: str) -> Run:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    return Run(name, path, connections, rps, _ms(latency["50"]), _ms(latency["99"]), errors, requests)


def rss_mb(pattern: str) -> float:
    """Resident memory of the processes whose command line matches `pattern` (pgrep -f)."""
    out = in_container(f"pids=$(pgrep -d, -f '{pattern}' || true); [ -n \"$pids\" ] && ps -o rss= -p $pids || true")
    return round(sum(int(n) for n in out.split()) / 1024, 1)


TARGETS = [
    ("flask_app (ours)", "http://127.0.0.1:80", ["/", "/api/info", "/static/css/style.css"]),
    ("seed uWSGI", "http://127.0.0.1:8003", ["/", "/api/info"]),
    ("gunicorn", "http://127.0.0.1:8004", ["/", "/api/info"]),
    ("nginx return 200", "http://127.0.0.1:8001", ["/"]),
    ("nginx static alone", "http://127.0.0.1:8002", ["/css/style.css"]),
]
# What is compared with what: each group is measured round by round, its members in
# turn (a rotating order), so a slow minute of the machine hits all of them alike.
GROUPS = [
    [("flask_app (ours)", "/"), ("seed uWSGI", "/"), ("gunicorn", "/")],
    [("flask_app (ours)", "/api/info"), ("seed uWSGI", "/api/info"), ("gunicorn", "/api/info")],
    [("flask_app (ours)", "/static/css/style.css"), ("nginx static alone", "/css/style.css")],
    [("nginx return 200", "/")],
]


def median_run(runs: list[Run]) -> Run:
    """The middle of several rounds: req/s, p50 and p99 each by their own median."""
    middle = len(runs) // 2

    def med(key: str) -> float:
        return sorted(getattr(r, key) for r in runs)[middle]

    first = runs[0]
    return Run(
        first.name,
        first.path,
        first.connections,
        med("rps"),
        med("p50_ms"),
        med("p99_ms"),
        sum(r.errors for r in runs),
        sum(r.requests for r in runs),
    )


def measure(connections: list[int], seconds: int, rounds: int) -> tuple[list[Run], dict[str, float]]:
    runs = []
    memory: dict[str, float] = {
        "nginx at rest (MB)": rss_mb("nginx: "),
        "uWSGI at rest (MB)": rss_mb("flask_app uWSGI"),
    }
    base = {name: url for name, url, _ in TARGETS}
    for group in GROUPS:
        for name, path in group:
            wrk(base[name] + path, 8, 2)  # warm up: workers loaded, caches filled
        for count in connections:
            rounds_of: dict[tuple[str, str], list[Run]] = {member: [] for member in group}
            for round_no in range(rounds):
                shift = round_no % len(group)
                for name, path in group[shift:] + group[:shift]:
                    out = wrk(base[name] + path, count, seconds)
                    rounds_of[(name, path)].append(parse_wrk(name, path, count, out))
            for (name, path), measured in rounds_of.items():
                runs.append(median_run(measured))
                print(
                    f"  {name:20} {path:22} c={count:<4} {runs[-1].rps:9.0f} req/s "
                    f"(rounds: {' '.join(f'{r.rps:.0f}' for r in measured)})",
                    file=sys.stderr,
                )
    order = {(name, path): i for i, (name, _, paths) in enumerate(TARGETS) for path in paths}
    runs.sort(key=lambda r: (order[(r.name, r.path)], r.connections))
    # Memory under load: sampled while wrk drives `/` at the middle concurrency.
    loader = subprocess.Popen(
        [
            "nsenter",
            "-t",
            container_pid(),
            "-n",
            "wrk",
            "-t",
            "2",
            "-c",
            "64",
            "-d",
            f"{seconds}s",
            "http://127.0.0.1:80/",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(seconds / 2)
    memory["nginx under load (MB)"] = rss_mb("nginx: ")
    memory["uWSGI under load (MB)"] = rss_mb("flask_app uWSGI")
    loader.wait(timeout=seconds + 30)
    return runs, memory


def find(runs: list[Run], name: str, path: str, connections: int) -> Run:
    return next(r for r in runs if r.name == name and r.path == path and r.connections == connections)


def targets(runs: list[Run], timings: dict[str, float], mid: int, high: int) -> list[tuple[str, str, bool]]:
    """Each target of issue 6 with the measured figure and whether it holds."""
    ours, checks = "flask_app (ours)", []
    for path in ("/", "/api/info"):
        o, s, g = find(runs, ours, path, mid), find(runs, "seed uWSGI", path, mid), find(runs, "gunicorn", path, mid)
        checks.append((f"GET {path} c={mid}: req/s vs seed >= 1.3x", f"{o.rps / s.rps:.2f}x", o.rps >= 1.3 * s.rps))
        checks.append((f"GET {path} c={mid}: req/s vs gunicorn >= 1.0x", f"{o.rps / g.rps:.2f}x", o.rps >= g.rps))
        checks.append(
            (
                f"GET {path} c={mid}: p99 no worse than seed",
                f"{o.p99_ms:.1f} vs {s.p99_ms:.1f} ms",
                o.p99_ms <= s.p99_ms,
            )
        )
        oh, sh_ = find(runs, ours, path, high), find(runs, "seed uWSGI", path, high)
        checks.append((f"GET {path} c={high}: 0 errors", f"{oh.errors} (seed {sh_.errors})", oh.errors == 0))
        checks.append(
            (
                f"GET {path} c={high}: p99 <= 1/10 of seed",
                f"{oh.p99_ms:.1f} vs {sh_.p99_ms:.1f} ms",
                oh.p99_ms * 10 <= sh_.p99_ms,
            )
        )
    for count in sorted({r.connections for r in runs}):
        o = find(runs, ours, "/static/css/style.css", count)
        n = find(runs, "nginx static alone", "/css/style.css", count)
        checks.append((f"static c={count}: >= 90% of nginx alone", f"{o.rps / n.rps:.0%}", o.rps >= 0.9 * n.rps))
    for name, key, limit in (
        ("no-op site.yml <= 15 s", "no-op site.yml (s)", 15),
        ("code-only deploy <= 20 s", "code-only deploy.yml (s)", 20),
    ):
        if key in timings:
            checks.append((name, f"{timings[key]:.1f} s", timings[key] <= limit))
    return checks


def markdown(runs: list[Run], timings: dict[str, float], memory: dict[str, float], checks: list[Any], host: str) -> str:
    lines = [
        f"Measured by `make bench` on {host}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| Target | Result | Holds |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    lines += ["", "| Server | Path | Conns | req/s | p50 ms | p99 ms | Errors |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += [
        f"| {r.name} | `{r.path}` | {r.connections} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
        for r in runs
    ]
    lines += ["", "| Timing / memory | Value |", "|---|---:|"]
    lines += [
        f"| {k} | {v:.2f} |" if k.endswith("(ratio)") else f"| {k} | {v:.1f} |"
        for k, v in {**timings, **memory}.items()
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debian", default=os.environ.get("FLASK_APP_DEBIAN", "13"))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    parser.add_argument("--connections", default=os.environ.get("BENCH_CONNECTIONS", "8,64,256"))
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", "3")),
        help="runs per server and concurrency, in rotating order, and no-op site.yml and code-only deploy.yml runs "
        "per strategy, in turn; the table shows medians",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown table here")
    parser.add_argument("--update-docs", action="store_true", help=f"replace the table in {DOC.relative_to(PROJECT)}")
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    parser.add_argument(
        "--serve-only", action="store_true", help="reuse the container a --keep run left; measure serving only"
    )
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    mid, high = connections[len(connections) // 2], connections[-1]

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        inventory = write_inventory(tmp)
        timings: dict[str, float] = {}
        if not args.serve_only:
            print(f"bench: fresh Debian {args.debian} container {CONTAINER}", file=sys.stderr)
            start_container(args.debian)
        try:
            if not args.serve_only:
                timings["fresh site.yml (s)"] = timed_playbook(inventory, "site.yml")
                # One run on this machine varies 8-15 s with no change: the median of
                # --rounds runs per strategy, in turn, like every serving figure.
                timings.update(
                    paired(
                        "no-op site.yml",
                        args.rounds,
                        lambda strategy: timed_playbook(inventory, "site.yml", strategy=strategy),
                    )
                )
                services = code_only_variant(tmp)
                timings.update(
                    paired(
                        "code-only deploy.yml",
                        args.rounds,
                        lambda strategy: code_only_deploy(inventory, tmp, services, strategy),
                    )
                )
                print(f"bench: {timings}", file=sys.stderr)
            workers = int(in_container("nproc")) * 2 + 1
            install_references(workers)
            runs, memory = measure(connections, args.seconds, args.rounds)
        finally:
            if not args.keep:
                sh("docker", "rm", "-f", CONTAINER, check=False)
    checks = targets(runs, timings, mid, high)
    host = (
        f"{os.cpu_count()} CPUs, Debian {args.debian} container, wrk {args.seconds} s per run, "
        f"median of {args.rounds} rounds"
    )
    table = markdown(runs, timings, memory, checks, host)
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": [asdict(r) for r in runs], "timings": timings, "memory": memory, "targets": checks}, indent=2
            ),
            encoding="utf-8",
        )
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if args.update_docs:
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
