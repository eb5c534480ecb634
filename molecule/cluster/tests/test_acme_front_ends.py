"""Two front ends behind one name, each with a certificate it ordered itself (nginx_tls_mode: acme).

The test's ACME server (Debian's pebble on the proxy host, prepare.yml) validates HTTP-01 for real,
and its DNS answers the name with web1's address only: web2's orders are validated through web1,
which passes a challenge it does not hold to the other front ends. Clients here are the proxy host,
which can fetch pebble's root from pebble's management API.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import pytest
from conftest import WEB, WEB2, host_named, private_address

NAME = "www.flask-app.test"
PROXY = "flask-app-cluster-proxy"
PEBBLE_CA = "/etc/pebble/ca.crt"


@pytest.fixture(scope="module")
def proxy() -> Any:
    return host_named(PROXY)


@pytest.fixture(scope="module")
def front_ends(web: Any) -> dict[str, Any]:
    return {WEB: web, WEB2: host_named(WEB2)}


def served(proxy: Any, address: str) -> dict[str, Any]:
    """What the front end at `address` serves a client that asks for NAME and trusts only pebble's
    root (read from pebble's management API): the certificate's serial, names and issuer, verified."""
    code = (
        "import json, socket, ssl, urllib.request\n"
        f"local = ssl.create_default_context(cafile={PEBBLE_CA!r})\n"
        "root = urllib.request.urlopen('https://127.0.0.1:15000/roots/0', context=local, timeout=5).read().decode()\n"
        "context = ssl.create_default_context(cadata=root)\n"
        f"with socket.create_connection(({address!r}, 443), timeout=5) as raw:\n"
        f"    with context.wrap_socket(raw, server_hostname={NAME!r}) as tls:\n"
        "        cert = tls.getpeercert()\n"
        "print(json.dumps({'serial': cert['serialNumber'], 'names': [v for k, v in cert['subjectAltName']],\n"
        "                  'issuer': dict(x[0] for x in cert['issuer'])}))\n"
    )
    result = proxy.run(f"python3 -c {shlex.quote(code)}")
    assert result.rc == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_every_front_end_serves_a_certificate_the_acme_server_issued(proxy: Any, front_ends: dict[str, Any]) -> None:
    seen = {name: served(proxy, private_address(host)) for name, host in front_ends.items()}
    for name, cert in seen.items():
        assert cert["names"] == [NAME], (name, cert)
        assert cert["issuer"]["commonName"].startswith("Pebble Intermediate CA"), (name, cert)
    # Each front end ordered its own (docs/security.md, several front ends).
    assert seen[WEB]["serial"] != seen[WEB2]["serial"], seen


def test_a_renewal_on_the_second_front_end_is_validated_through_the_first(
    proxy: Any, front_ends: dict[str, Any]
) -> None:
    web1, web2 = front_ends[WEB], front_ends[WEB2]
    before = {name: served(proxy, private_address(host))["serial"] for name, host in front_ends.items()}
    master = web2.check_output("systemctl show --property MainPID --value nginx")
    renewal = web2.run("/usr/local/sbin/flask-app-acme renew --force")
    assert renewal.rc == 0, renewal.stdout + renewal.stderr
    deadline = time.monotonic() + 15
    while served(proxy, private_address(web2))["serial"] == before[WEB2] and time.monotonic() < deadline:
        time.sleep(0.5)
    after = {name: served(proxy, private_address(host))["serial"] for name, host in front_ends.items()}
    assert after[WEB2] != before[WEB2], "web2 still serves its old certificate"
    assert after[WEB] == before[WEB], "web1's certificate changed with web2's renewal"
    assert web2.check_output("systemctl show --property MainPID --value nginx") == master, "nginx restarted"
    # The CA only ever asked web1 (its DNS names web1): the challenge reached web2 through it.
    time.sleep(1.5)  # the access log is written in blocks, at least every second
    log = web1.check_output("grep -F /.well-known/acme-challenge/ /var/log/nginx/flask_app.access.log")
    passed = [line for line in log.splitlines() if f"ua={private_address(web2)}:80" in line and " 200 " in line]
    assert passed, log[-2000:]
