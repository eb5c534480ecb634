"""Releases under load: deploy, a broken deploy rolled back by itself, and rollbacks by hand.

A bounded request loop runs against the published port on 127.0.0.1 during
every step; not one request may fail or take longer than a few seconds. Runs
on the Debian 13 host of the default scenario (TCP) and on the Debian 12 host
of the unix scenario (unix socket, HTTPS); the cluster scenario repeats it with
a rolling deploy.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support import DEFAULT_SERVICE, PROJECT, UWSGI_PROBE, Load, playbook, record, release_of, variant

# Hosts the load test runs on: scenario -> host name suffix.
LOAD_HOSTS = {"default": "-d13", "unix": "-d12"}
# rollback.yml runs under load per test run: a worker that hangs in one chain
# reload in ten (docs/troubleshooting.md) gets several chances to show. Odd, so
# the host ends on the release it started with.
ROLLBACKS = 3
# uWSGI's own account of its reloads, without the request lines.
RELOAD_LINES = r"chain|Gracefully|killed|mercy|Respawned|ready in|loaded in"


def retried(run: Any) -> int:
    """How many times a run's tasks were retried (Ansible's "FAILED - RETRYING" lines)."""
    return len(re.findall(r"FAILED - RETRYING", run.stdout))


@pytest.fixture(scope="module")
def release_host(host: Any) -> Iterator[str]:
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default" or not host.backend.host.endswith("-d13"):
        pytest.skip("the release checks run on the Debian 13 host of the default scenario")
    yield host.backend.host


@pytest.fixture(scope="module")
def load_host(host: Any) -> Iterator[str]:
    suffix = LOAD_HOSTS.get(os.environ.get("MOLECULE_SCENARIO_NAME", ""))
    if suffix is None or not host.backend.host.endswith(suffix):
        pytest.skip(f"the releases-under-load test runs on {LOAD_HOSTS}")
    yield host.backend.host


def test_deploy_broken_deploy_and_rollbacks_drop_no_request(
    host: Any,
    load_host: str,
    base_url: str,
    web: requests.Session,
    tls_verify: bool | str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.mktemp("releases")
    first = release_of(base_url, tls_verify)
    marker = f"/* v2 {time.time_ns()} */"
    good = variant(tmp, "v2", "\n# v2: a code and stylesheet change\n", css=f"\n{marker}\n")
    broken = variant(tmp, "v3", "\nimport no_such_module_in_v3  # noqa\n")
    rollback_seconds: list[float] = []
    rollback_retries: list[int] = []
    slowest: Any = None
    with Load(base_url + "/", verify=tls_verify) as load:
        started = time.monotonic()
        deployed = playbook("deploy.yml", load_host, good)
        deploy_seconds = time.monotonic() - started
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        second = release_of(base_url, tls_verify)
        assert second != first
        # The new page's stylesheet URL serves the new file (published before the switch).
        css = web.get(f"{base_url}/static/css/style.css?v={second}", timeout=10)
        assert marker in css.text, css.text[-200:]
        assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # The old release's URL now gets the new file: kept by no browser.
        old_css = web.get(f"{base_url}/static/css/style.css?v={first}", timeout=10)
        assert old_css.headers["Cache-Control"] == "no-cache"

        refused = playbook("deploy.yml", load_host, broken)
        assert refused.returncode != 0
        assert "failed its health check" in refused.stdout
        assert "no_such_module_in_v3" in refused.stdout
        assert release_of(base_url, tls_verify) == second

        # Each rollback goes back to the release the one before left: first, second, first...
        for turn in range(ROLLBACKS):
            expected = first if turn % 2 == 0 else second
            started = time.monotonic()
            rolled_back = playbook("rollback.yml", load_host)
            rollback_seconds.append(time.monotonic() - started)
            rollback_retries.append(retried(rolled_back))
            if rollback_seconds[-1] == max(rollback_seconds):
                slowest = rolled_back
            assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
            assert release_of(base_url, tls_verify) == expected
        # rollback.yml keeps the newer release's files: the old pages' URLs are not kept by browsers.
        rolled_css = web.get(f"{base_url}/static/css/style.css?v={first}", timeout=10)
        assert rolled_css.headers["Cache-Control"] == "no-cache"
    # The slowest rollback's output, each task timed, and uWSGI's reload lines, for a rollback
    # that waits long (one took 125 s, one 236 s, against 15-34 s for the others, with no request
    # failed or slow and the reload done within seconds).
    with host.sudo():
        log = f"/var/log/uwsgi/{DEFAULT_SERVICE['name']}.log"
        reloads = host.run(f"grep -E '{RELOAD_LINES}' {log} | tail -n 200").stdout
    kept = PROJECT / ".cache" / "logs" / f"{load_host}-slowest-rollback.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(f"{slowest.stdout}\n--- uWSGI's reloads:\n{reloads}", encoding="utf-8")
    record(
        f"{load_host}: code-only deploy {deploy_seconds:.1f} s, {ROLLBACKS} rollbacks "
        f"{min(rollback_seconds):.1f}-{max(rollback_seconds):.1f} s (tasks retried: "
        f"{', '.join(map(str, rollback_retries))}; the slowest in {kept.relative_to(PROJECT)}); "
        f"during deploy, broken deploy and rollbacks: {load.summary()}"
    )
    assert load.ok > 0
    assert load.failures == [], load.failures[:20]
    # Leave the host as the tests after this one expect it: `site.yml --tags nginx` publishes
    # the static files of the live release (rollback.yml kept the newer release's), as
    # docs/operations.md tells.
    restored = playbook("site.yml", load_host, None, "--tags", "nginx")
    assert restored.returncode == 0, restored.stdout[-3000:]


def test_a_master_left_on_an_old_socket_is_moved_by_the_next_run(
    host: Any, release_host: str, base_url: str, tls_verify: bool | str
) -> None:
    """A run that failed after writing app.ini but before its restart handler leaves uWSGI on the
    old socket while the file already names the new one: the next run must restart it anyway.
    """
    ini = "/etc/uwsgi/flask_app/app.ini"
    probe = f"python3 {UWSGI_PROBE} 127.0.0.1:8080 /healthz --stats=/run/flask_app/stats.sock"
    assert host.file(ini).contains("^socket = 127.0.0.1:8080$"), "the default scenario serves over TCP"
    try:
        host.run_test(f"sed -i 's#^socket = 127.0.0.1:8080$#socket = /run/flask_app/old.sock#' {ini}")
        host.run_test("systemctl restart uwsgi-flask_app")
        host.run_test(f"sed -i 's#^socket = /run/flask_app/old.sock$#socket = 127.0.0.1:8080#' {ini}")
        assert "socket moved, restart needed" in host.run(probe).stdout

        converged = playbook("site.yml", release_host)
        assert converged.returncode == 0, converged.stdout[-3000:]
        assert "RUNNING HANDLER [uwsgi : Restart uWSGI services]" in converged.stdout
        after = host.run(probe)
        assert after.rc == 0 and "socket moved" not in after.stdout, after.stdout
        assert release_of(base_url, tls_verify)
    finally:
        if not host.file(ini).contains("^socket = 127.0.0.1:8080$"):
            host.run(f"sed -i 's#^socket = /run/flask_app/old.sock$#socket = 127.0.0.1:8080#' {ini}")
        if "socket moved" in host.run(probe).stdout:
            host.run("systemctl restart uwsgi-flask_app")


def test_the_pre_switch_check_runs_in_the_units_sandbox(
    host: Any, release_host: str, base_url: str, tls_verify: bool | str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The new release's code, loaded by the check before it takes traffic, gets the unit's
    sandbox: what it writes to /var/tmp (which the service user may write) stays in its own
    private /var/tmp (PrivateTmp), as it does for the live workers."""
    marker = f"/var/tmp/flask_app-precheck-{time.time_ns()}"
    probe = (
        "\n# Written at import: by the pre-switch check first, then by each uWSGI worker.\n"
        f"with open({marker!r}, 'w') as _marker:\n"
        "    _marker.write('written outside the sandbox')\n"
    )
    before = release_of(base_url, tls_verify)
    deployed = playbook("deploy.yml", release_host, variant(tmp_path_factory.mktemp("sandbox"), "sandboxed", probe))
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    assert release_of(base_url, tls_verify) != before
    assert not host.file(marker).exists, "the release's code wrote to the host's /var/tmp"
