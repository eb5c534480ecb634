"""One run, one release: every host of a run gets the release of one manifest.

The release step runs once per run on the controller (plugins/action/flask_app_release.py).
This runs the real playbooks/check.yml (site.yml's checks, the stack role's release step
among them) for one front end and two app servers, against a git service whose branch
moves every time the controller fetches it (a `git` wrapper first on PATH commits to the
origin after each clone or fetch): had each host fetched in its turn, the app servers would
name two commits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
HOSTS = ("www1.example.com", "app1.example.com", "app2.example.com")

# Runs the real git, then, after a clone or fetch, moves the origin's branch by one commit.
GIT_WRAPPER = """#!/bin/sh
{git} "$@"
status=$?
case " $* " in
  *" fetch "*|*" clone "*)
    echo x >> "$FLASK_APP_TEST_FETCHES"
    {git} -C "$FLASK_APP_TEST_ORIGIN" -c user.name=t -c user.email=t@example.invalid \\
      commit --quiet --allow-empty -m "moved while the run was going"
    ;;
esac
exit $status
"""


def git(origin: Path, *args: str) -> str:
    argv = ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def make_origin(path: Path) -> None:
    (path / "static").mkdir(parents=True)
    (path / "requirements.txt").write_text("Flask==3.1.3\n", encoding="utf-8")
    (path / "run.py").write_text("from flask import Flask\napp = Flask(__name__)\n", encoding="utf-8")
    (path / "static" / "style.css").write_text("body {}\n", encoding="utf-8")
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", ".")
    git(path, "commit", "--quiet", "-m", "first")


def write_inventory(path: Path, origin: Path) -> None:
    shutil.copytree(ROOT / "inventory" / "production", path)
    hosts = {
        "web": {"hosts": {HOSTS[0]: {"ansible_host": "192.0.2.10"}}},
        "app": {"hosts": {HOSTS[1]: {"ansible_host": "192.0.2.21"}, HOSTS[2]: {"ansible_host": "192.0.2.22"}}},
    }
    (path / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    service = {"name": "flask_app", "git": {"repo": f"file://{origin}", "version": "main"}, "port": 8080}
    (path / "group_vars" / "all" / "release.yml").write_text(
        yaml.safe_dump({"stack_services": [{**service, "static_dir": "static"}]}), encoding="utf-8"
    )


def releases_of_a_run(tmp: Path, inventory: Path, origin: Path) -> dict[str, Any]:
    """Each host's resolved release id, from the real run's task results."""
    wrapper = tmp / "bin" / "git"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(GIT_WRAPPER.format(git=shutil.which("git")), encoding="utf-8")
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{wrapper.parent}:{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "FLASK_APP_TEST_ORIGIN": str(origin),
        "FLASK_APP_TEST_FETCHES": str(tmp / "fetches"),
    }
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(ROOT / "playbooks" / "check.yml")]
    argv += ["--vault-password-file", str(ROOT / "vault-password.example")]
    argv += ["-e", f"stack_git_cache={tmp / 'git-cache'}", "-e", f"stack_build_dir={tmp / 'build'}"]
    run = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    releases = {}
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "stack : Decide where uWSGI listens on this host":
                for host, result in task["hosts"].items():
                    releases[host] = [s["release"] for s in result["ansible_facts"]["stack_resolved_services"]]
    return releases


def test_every_host_of_a_run_gets_the_same_commit_while_the_branch_moves(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    make_origin(origin)
    first = git(origin, "rev-parse", "main")
    inventory = tmp_path / "inventory"
    write_inventory(inventory, origin)

    releases = releases_of_a_run(tmp_path, inventory, origin)
    assert releases == {host: [first[:12]] for host in HOSTS}
    # One fetch for the run, not one per host; the branch has moved since.
    assert (tmp_path / "fetches").read_text(encoding="utf-8").count("x") == 1
    moved = git(origin, "rev-parse", "main")
    assert moved != first

    # The next run names the branch's newest commit, again one for every host.
    assert releases_of_a_run(tmp_path, inventory, origin) == {host: [moved[:12]] for host in HOSTS}
    assert (tmp_path / "fetches").read_text(encoding="utf-8").count("x") == 2
