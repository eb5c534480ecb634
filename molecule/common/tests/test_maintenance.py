"""Maintenance mode (playbooks/maintenance.yml): users get the page with 503 and Retry-After, the
health path keeps answering (ACME challenges too: test_acme.py renews in maintenance), an
allowed address gets the site as usual with no failed request through on and off, status.yml
says so, a deploy works meanwhile, and a second state=on changes nothing.

Runs on the default scenario's Debian 13 host only (its playbook runs cost time). The controller
asks through the published port (docker's gateway address: not allowed); on the host, 127.0.0.1
is in nginx_maintenance_allowed (molecule/default/group_vars/all/scenario.yml).
"""

from __future__ import annotations

import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support import DEFAULT_SERVICE, playbook, record, release_of, variant

# The one host and scenario where maintenance is switched on and off (no mode of its own to converge).
CONVERGES = ("default", "-d13", [])
# The allowed client's request loop on the host: its log, and the file that stops it.
LOOP_LOG, LOOP_STOP = "/run/maintenance-test-loop.log", "/run/maintenance-test-stop"


@pytest.fixture(scope="module")
def maintenance_host(host: Any) -> str:
    scenario, suffix, _ = CONVERGES
    name = host.backend.host
    if os.environ.get("MOLECULE_SCENARIO_NAME") != scenario or not name.endswith(suffix):
        pytest.skip(f"maintenance mode is switched on the {suffix} host of the {scenario} scenario")
    return name


def switch(host_name: str, state: str) -> int:
    """Run maintenance.yml -e state=`state`, which must succeed; how many tasks changed."""
    run = playbook("maintenance.yml", host_name, {"state": state})
    assert run.returncode == 0, run.stdout[-3000:]
    return int(re.findall(r"changed=(\d+)", run.stdout)[-1])


def start_allowed_loop(host: Any, url: str) -> None:
    """GET `url` from the host itself (127.0.0.1, allowed) every 50 ms, in the background; bounded
    (180 s, 5000 requests) and stopped by LOOP_STOP. It writes 'ok N failed M' when it ends."""
    code = (
        "import os, ssl, time, urllib.request\n"
        "ok, failed, end = 0, 0, time.monotonic() + 180\n"
        "context = ssl._create_unverified_context()\n"
        f"while time.monotonic() < end and ok + failed < 5000 and not os.path.exists({LOOP_STOP!r}):\n"
        "    try:\n"
        f"        status = urllib.request.urlopen({url!r}, timeout=5, context=context).status\n"
        "    except OSError as error:\n"
        "        status = error\n"
        "    if status == 200:\n"
        "        ok += 1\n"
        "    else:\n"
        "        failed += 1\n"
        "        print('failed:', status, flush=True)\n"
        "    time.sleep(0.05)\n"
        "print('ok', ok, 'failed', failed, flush=True)\n"
    )
    with host.sudo():
        background = f"setsid nohup python3 -c {shlex.quote(code)} > {LOOP_LOG} 2>&1 < /dev/null &"
        host.run_expect([0], f"rm -f {LOOP_STOP}; {background}")


def stop_allowed_loop(host: Any) -> str:
    with host.sudo():
        host.run(f"touch {LOOP_STOP}")
        for _ in range(20):
            summary = host.run(f"cat {LOOP_LOG}").stdout
            if re.search(r"^ok \d+ failed \d+$", summary, re.M):
                break
            host.run("sleep 0.5")
        host.run(f"rm -f {LOOP_STOP}")
    return summary


def first_answer(web: requests.Session, url: str, status: int, seconds: float = 15.0) -> requests.Response:
    """GET `url` on a new connection each time until it answers `status` (bounded): after a
    reload, nginx's old workers still serve the connections they had, with the old state."""
    deadline = time.monotonic() + seconds
    while True:
        answer = web.get(url, timeout=10, headers={"Connection": "close"})
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_a_bad_state_is_refused_naming_the_variable(maintenance_host: str) -> None:
    run = playbook("maintenance.yml", maintenance_host, {"state": "maybe"})
    output = " ".join(run.stdout.split())
    assert run.returncode != 0
    assert "state must be on or off (-e state=on or -e state=off), got 'maybe'." in output, output[-3000:]


def test_maintenance_shows_users_the_page_while_health_checks_allowed_clients_and_deploys_go_on(
    host: Any,
    maintenance_host: str,
    base_url: str,
    web: requests.Session,
    tls_verify: bool | str,
    tmp_path: Path,
) -> None:
    health = DEFAULT_SERVICE["health_path"]
    start_allowed_loop(host, base_url.split("://")[0] + "://127.0.0.1/")
    try:
        assert switch(maintenance_host, "on") > 0

        page = first_answer(web, base_url + "/", 503)
        assert page.status_code == 503, page.headers
        assert page.headers["Retry-After"] == "600"
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page.headers
        assert "Down for maintenance" in page.text
        assert web.post(base_url + "/", data={"a": "b"}, timeout=10).status_code == 503
        assert web.get(base_url + health, timeout=10).status_code == 200
        # The CA's challenges pass too: test_acme.py renews a certificate in maintenance.

        status = playbook("status.yml", maintenance_host)
        assert status.returncode == 0, status.stdout[-3000:]
        assert "in maintenance (503): flask_app" in status.stdout
        assert "warning: maintenance mode is on for flask_app" in status.stdout

        assert switch(maintenance_host, "on") == 0

        before = release_of(base_url, tls_verify)
        # A new release each run: the same code again would switch nothing.
        code = variant(tmp_path, "in-maintenance", f"\n# deployed while in maintenance {time.time_ns()}\n")
        deployed = playbook("deploy.yml", maintenance_host, code)
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        assert release_of(base_url, tls_verify) != before
        assert web.get(base_url + "/", timeout=10).status_code == 503

        assert switch(maintenance_host, "off") > 0
        assert first_answer(web, base_url + "/", 200).status_code == 200
    finally:
        switch(maintenance_host, "off")
        summary = stop_allowed_loop(host)
        # The inventory's release live again: the tests after this one start from it.
        restored = playbook("deploy.yml", maintenance_host)
    assert restored.returncode == 0, restored.stdout[-3000:]
    record(f"{maintenance_host}: an allowed client through maintenance on, a deploy and off: {summary}")
    assert re.search(r"^ok [1-9]\d* failed 0$", summary, re.M), summary
