"""A certificate ordered and renewed on the host (nginx_tls_mode: acme): every name is served a
certificate the ACME server issued, a second run orders nothing, a forced renewal goes live with a
reload and no failed request, status.yml fails on a certificate near its end or a failed renewal,
and leaving the mode removes the renewal timer.

Runs on the default scenario's Debian 13 host, which serves a provided certificate: the test
converges acme itself (site.yml --tags nginx) and restores the inventory's mode at the end. The ACME
server is Debian's pebble on the host itself (molecule/default/prepare.yml), validating HTTP-01 for
real against our nginx on port 80; its DNS answers every name with 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import urllib3
from support import Load, playbook, record

# Where acme converges (plugins/tests/test_mode_coverage.py).
CONVERGES = ("default", "-d13", ["nginx_tls_mode:acme"])
ACME = {
    "nginx_tls_mode": "acme",
    "nginx_acme_email": "ops@flask-app.test",
    "nginx_acme_directory": "https://localhost:14000/dir",
    "nginx_server_name": "www.flask-app.test flask-app.test",
}
NAMES = ACME["nginx_server_name"].split()
SCRIPT = "/usr/local/sbin/flask-app-acme"
STATE = "/var/lib/flask_app-acme"
CERTIFICATE = "/etc/nginx/tls/flask_app.crt"
# The hosts whose inventory mode a test already restored (the fixture need not run site.yml again).
RESTORED: set[str] = set()


@pytest.fixture(scope="module")
def acme_host(host: Any, tls_port: int) -> Iterator[str]:
    """The host, converged with nginx_tls_mode acme; the inventory's mode again afterwards."""
    scenario, suffix, _ = CONVERGES
    name = host.backend.host
    if os.environ.get("MOLECULE_SCENARIO_NAME") != scenario or not name.endswith(suffix):
        pytest.skip(f"acme is tried on the {suffix} host of the {scenario} scenario")
    try:
        converged = playbook("site.yml", name, ACME, "--tags", "nginx")
        assert converged.returncode == 0, converged.stdout[-3000:]
        yield name
    finally:
        if name not in RESTORED:
            restored = playbook("site.yml", name, None, "--tags", "nginx")
            assert restored.returncode == 0, restored.stdout[-3000:]


def pebble_root(host: Any) -> str:
    """The root certificate pebble signs with now (its management API; new on every start)."""
    code = "import urllib.request; print(urllib.request.urlopen('https://localhost:15000/roots/0').read().decode())"
    return host.check_output(f'python3 -c "{code}"')


def served(port: int, name: str, root: str) -> dict[str, Any]:
    """The certificate served for `name` (SNI), verified against `root` and for that name."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.getpeercert()


def served_serial(port: int) -> int:
    """The serial of the certificate served for the first name, not verified (any CA, any time):
    the stdlib decodes only verified certificates, openssl on the controller reads it."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=NAMES[0]) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    read = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der, capture_output=True, check=True
    )
    return int(read.stdout.decode().strip().removeprefix("serial="), 16)


def ordered_serials(host: Any) -> list[int]:
    """The serial of each certificate flask-app-acme installed, oldest first (its orders log)."""
    with host.sudo():
        lines = host.check_output(f"cat {STATE}/orders.log").splitlines()
    return [int(line.split()[1].removeprefix("serial="), 16) for line in lines]


def comes_to_serve(port: int, serial: int, seconds: float = 15.0) -> bool:
    """Whether the site serves the certificate `serial` within `seconds` (old workers finish first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if served_serial(port) == serial:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def test_every_name_is_served_a_certificate_the_acme_server_issued(host: Any, acme_host: str, tls_port: int) -> None:
    root = pebble_root(host)
    serials = {int(served(tls_port, name, root)["serialNumber"], 16) for name in NAMES}
    assert serials == {ordered_serials(host)[-1]}, serials


def test_the_challenge_is_answered_on_port_80_while_the_rest_redirects(acme_host: str, http_url: str) -> None:
    token = requests.get(http_url + "/.well-known/acme-challenge/no-such-token", timeout=10, allow_redirects=False)
    assert token.status_code == 404, token.headers
    page = requests.get(http_url + "/healthz", timeout=10, allow_redirects=False)
    assert page.status_code == 301, page.headers


def test_a_second_run_orders_nothing(host: Any, acme_host: str, tls_port: int) -> None:
    before, serial = ordered_serials(host), served_serial(tls_port)
    again = playbook("site.yml", acme_host, ACME, "--tags", "nginx")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout, again.stdout[-3000:]
    assert ordered_serials(host) == before, before
    assert served_serial(tls_port) == serial


def test_a_forced_renewal_is_served_after_a_reload_with_no_failed_request(
    host: Any, acme_host: str, tls_port: int, base_url: str
) -> None:
    with host.sudo():
        master = host.check_output("cat /run/nginx.pid")
    old = served_serial(tls_port)
    # The load checks availability; the certificate is checked by serial above and below.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    with Load(base_url + "/healthz", verify=False) as load:
        with host.sudo():
            renewal = host.run(f"{SCRIPT} renew --force")
        assert renewal.rc == 0, renewal.stdout + renewal.stderr
        new = ordered_serials(host)[-1]
        renewed_served = comes_to_serve(tls_port, new)
    record(f"{acme_host}: flask-app-acme renew --force under load: {load.summary()}")
    assert new != old and renewed_served
    assert renewal.stdout.splitlines()[-1].startswith("renewed: ")
    with host.sudo():
        assert host.check_output("cat /run/nginx.pid") == master
    assert load.ok > 0
    assert load.failures == [], load.failures[:20]
    with host.sudo():
        assert host.run(f"{SCRIPT} renew").stdout.splitlines()[-1].startswith("nothing to do: ")


def test_a_renewal_goes_through_while_the_site_is_in_maintenance(host: Any, acme_host: str, base_url: str) -> None:
    """Maintenance mode answers 503 to the pages, never to the CA's challenge requests."""
    on = playbook("maintenance.yml", acme_host, {**ACME, "state": "on"})
    try:
        assert on.returncode == 0, on.stdout[-3000:]
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        deadline = time.monotonic() + 15  # nginx's reload into maintenance, bounded
        while requests.get(base_url + "/", timeout=10, verify=False).status_code != 503:
            assert time.monotonic() < deadline, "the site never answered 503"
            time.sleep(0.2)
        with host.sudo():
            renewal = host.run(f"{SCRIPT} renew --force")
        assert renewal.rc == 0, renewal.stdout + renewal.stderr
        assert renewal.stdout.splitlines()[-1].startswith("renewed: ")
    finally:
        off = playbook("maintenance.yml", acme_host, {**ACME, "state": "off"})
    assert off.returncode == 0, off.stdout[-3000:]


def test_status_fails_on_a_certificate_in_the_last_sixth_of_its_lifetime(host: Any, acme_host: str) -> None:
    healthy = playbook("status.yml", acme_host, ACME)
    assert healthy.returncode == 0, healthy.stdout[-3000:]
    # 32 days, 2 left: inside the last sixth. Made on the host (Debian 13's openssl backdates).
    with host.sudo():
        made = host.run(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=soon"
            f" -not_before $(date -u -d '-30 days' +%Y%m%d%H%M%SZ) -not_after $(date -u -d '+2 days' +%Y%m%d%H%M%SZ)"
            f" -keyout {CERTIFICATE[:-4]}.key -out {CERTIFICATE} && systemctl reload nginx"
        )
    assert made.rc == 0, made.stderr
    try:
        failing = playbook("status.yml", acme_host, ACME)
        output = " ".join(failing.stdout.split())
        assert failing.returncode != 0, output[-3000:]
        assert f"the certificate {CERTIFICATE} expires" in output, output[-3000:]
        assert "inside the last sixth of its 32-day lifetime" in output, output[-3000:]
    finally:
        # Not the ACME certificate: the script orders one at once.
        with host.sudo():
            reordered = host.run(f"{SCRIPT} renew")
    assert reordered.rc == 0, reordered.stdout + reordered.stderr


def test_status_fails_after_a_failed_renewal_and_the_pair_is_kept(host: Any, acme_host: str, tls_port: int) -> None:
    # The pair the test before this one installed, once nginx's reload serves it.
    serial = ordered_serials(host)[-1]
    assert comes_to_serve(tls_port, serial)
    with host.sudo():
        host.run("systemctl stop pebble")
        try:
            failed = host.run(f"{SCRIPT} renew --force")
        finally:
            host.run("systemctl start pebble")
    assert failed.rc != 0, failed.stdout
    assert failed.stdout.splitlines()[-1] == "failed: the live certificate is unchanged"
    assert served_serial(tls_port) == serial
    status = playbook("status.yml", acme_host, ACME)
    output = " ".join(status.stdout.split())
    assert status.returncode != 0, output[-3000:]
    assert f"the last ACME renewal of the certificate {CERTIFICATE} failed" in output, output[-3000:]
    # pebble forgot the account when it stopped: the script registers a new one.
    deadline = time.monotonic() + 30
    while True:
        with host.sudo():
            again = host.run(f"{SCRIPT} renew --force")
        if again.rc == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert again.rc == 0, again.stdout + again.stderr
    assert playbook("status.yml", acme_host, ACME).returncode == 0


def test_leaving_acme_mode_removes_the_renewal_timer(host: Any, acme_host: str) -> None:
    left = playbook("site.yml", acme_host, None, "--tags", "nginx")
    RESTORED.add(acme_host)
    assert left.returncode == 0, left.stdout[-3000:]
    assert not host.file("/etc/systemd/system/flask-app-acme.timer").exists
    assert not host.file(SCRIPT).exists
    with host.sudo():
        assert host.run("systemctl is-active flask-app-acme.timer").stdout.strip() != "active"
        assert f"{CERTIFICATE};" not in host.check_output("nginx -T 2>/dev/null")
