"""A rolling deploy across the two app servers under load, a broken one stopped at the first batch, a rollback."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import APPS, SCENARIO, WEBS
from support import Load, playbook, record, variant

API = {
    "name": "api",
    "src": str(SCENARIO / "files" / "api"),
    "port": 8081,
    "health_path": "/api/healthz",
}


# The servers of each upstream, one file per service, rendered from data by site.yml and,
# around each batch, by deploy.yml and rollback.yml (roles/nginx/tasks/drain.yml).
UPSTREAMS = "/etc/nginx/flask_app-upstreams"


def upstreams(web: Any) -> str:
    """Every upstream file of the front end, each under its name."""
    return web.check_output(f"tail -n +1 {UPSTREAMS}/*.conf")


def releases(base_url: str, rounds: int = 20) -> Counter[tuple[str, str]]:
    """(host, release) pairs seen over a few requests: the balancer shows every app server."""
    return Counter(
        (data["hostname"], data["release"])
        for data in (requests.get(base_url + "/healthz", timeout=10).json() for _ in range(rounds))
    )


# The operator's hooks (docs/deploying.md, "Hooks"): each records, on the app server, which
# release `current` names when it runs.
HOOK = """- name: Read the live release ({when})
  ansible.builtin.stat:
    path: "{{{{ stack_resolved_services[0].current_path }}}}"
  register: hook_current

- name: Record the {when} hook
  ansible.builtin.lineinfile:
    path: /var/tmp/flask_app-hooks.log
    line: "{when} {{{{ hook_current.stat.lnk_target | basename }}}} {{{{ now().timestamp() }}}}"
    create: true
    mode: "0644"
"""
HOOK_LOG = "/var/tmp/flask_app-hooks.log"


def hook_log(host: Any) -> list[str]:
    """(hook, release `current` named) per run of a hook on `host`, in order."""
    text = host.file(HOOK_LOG).content_string if host.file(HOOK_LOG).exists else ""
    return [" ".join(line.split()[:2]) for line in text.splitlines()]


def test_rolling_deploy_and_rollback_drop_no_request(
    base_url: str, web: Any, apps: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any
) -> None:
    tmp: Path = tmp_path_factory.mktemp("rolling")
    hooks = tmp / "hooks"
    hooks.mkdir()
    for when in ("before-switch", "after-switch"):
        (hooks / f"{when}.yml").write_text(HOOK.format(when=when), encoding="utf-8")
    monkeypatch.setenv("FLASK_APP_HOOKS_DIR", str(hooks))
    for host in apps.values():
        host.run(f"rm -f {HOOK_LOG}")
    first = {release for _, release in releases(base_url)}
    converged = upstreams(web)
    assert len(first) == 1
    good = variant(tmp, "v2", "\n# v2: a code-only change\n", [API])
    broken = variant(tmp, "v3", "\nraise RuntimeError('v3 is broken')\n", [API])
    everyone = ",".join([*WEBS, *APPS])
    with Load(base_url + "/") as load:
        started = time.monotonic()
        deployed = playbook("deploy.yml", everyone, good)
        seconds = time.monotonic() - started
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        after = releases(base_url)
        assert {host for host, _ in after} == set(APPS)
        [second] = {release for _, release in after}
        assert {second} != first
        # Each app server ran the operator's hooks around its own switch, in order.
        [before] = first
        for host in apps.values():
            assert hook_log(host) == [f"before-switch {before}", f"after-switch {second}"]

        refused = playbook("deploy.yml", everyone, broken)
        assert refused.returncode != 0
        assert "failed its health check" in refused.stdout
        assert "v3 is broken" in refused.stdout
        # The first batch refused it; the second batch was never touched.
        assert {release for _, release in releases(base_url)} == {second}
        # The refused batch ran its before-switch hook, not its after-switch one; the
        # other batch ran neither.
        refused_host, untouched = (apps[name] for name in APPS)
        assert hook_log(refused_host)[2:] == [f"before-switch {second}"]
        assert hook_log(untouched)[2:] == []

        rolled_back = playbook("rollback.yml", everyone)
        assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
        assert {release for _, release in releases(base_url)} == first
    record(
        f"rolling deploy over {len(APPS)} app servers: {seconds:.1f} s; "
        f"{load.ok} requests during the three runs, {len(load.failures)} failed"
    )
    assert load.ok > 0
    assert load.failures == []
    # The front end took every app server back after each batch, the failed one included,
    # in the very files site.yml wrote: a site.yml run now would change none of them.
    assert " down;" not in converged
    assert upstreams(web) == converged


def test_stack_drain_by_tags_nginx_keeps_an_app_server_out_through_a_deploy(base_url: str, web: Any) -> None:
    """stack_drain (docs/scaling.md) is the inventory's: set and cleared by the documented
    `site.yml --tags nginx`; a deploy's batches leave the drained server down, in the very
    upstream files site.yml wrote (a site.yml run after the deploy would change none of them)."""
    drained, serving = APPS
    # As a host_vars entry of the drained server would set it: true there only.
    inventory = {"stack_drain": f"{{{{ inventory_hostname == '{drained}' }}}}"}
    everyone = ",".join([*WEBS, *APPS])
    try:
        out = playbook("site.yml", "all", inventory, "--tags", "nginx")
        assert out.returncode == 0, out.stdout[-3000:]
        drained_files = upstreams(web)
        assert f"down;  # {drained}" in drained_files
        assert {host for host, _ in releases(base_url)} == {serving}

        # The live release again: the drain runs around both batches. The drained server's
        # batch leaves it down; the other one is not taken out, as nothing else would serve.
        with Load(base_url + "/") as load:
            deployed = playbook("deploy.yml", everyone, inventory)
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        assert load.failures == [], load.failures[:10]
        assert {host for host, _ in releases(base_url)} == {serving}
        assert upstreams(web) == drained_files
    finally:
        back = playbook("site.yml", "all", None, "--tags", "nginx")
    assert back.returncode == 0, back.stdout[-3000:]
    assert " down;" not in upstreams(web)
    assert {host for host, _ in releases(base_url)} == set(APPS)


def test_static_files_are_never_published_for_a_release_that_is_not_live(
    base_url: str, web: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A deploy limited to app servers, and site.yml --tags nginx with other code than the live
    release's, are refused before they change anything."""
    tmp: Path = tmp_path_factory.mktemp("static")
    other = variant(tmp, "v4", "\n# v4: not deployed\n", [API], css="\n/* v4 */\n")
    live = {release for _, release in releases(base_url)}
    published = web.file("/var/www/flask_app/flask_app/css/style.css").content_string

    # An app server alone is part of a stack: refused before the front ends could be left out.
    limited = playbook("deploy.yml", APPS[0], other)
    assert limited.returncode != 0
    assert "the playbooks work on whole stacks" in limited.stdout, limited.stdout[-2000:]

    tagged = playbook("site.yml", "all", other, "--tags", "nginx")
    assert tagged.returncode != 0
    assert "its static files would not match the pages" in tagged.stdout, tagged.stdout[-2000:]

    for run in (limited, tagged):
        assert set(re.findall(r"changed=(\d+)", run.stdout)) == {"0"}
    assert {release for _, release in releases(base_url)} == live
    assert web.file("/var/www/flask_app/flask_app/css/style.css").content_string == published
