"""A certificate of your own (nginx_tls_mode: provided): it is what the site serves, a new one goes
live with no failed request, and a key that is not the certificate's is refused while the site keeps
serving.

Runs on the hosts that serve a provided certificate: the default scenario's Debian 13 host (files on
the controller) and the unix scenario's Debian 12 host (PEM text in variables); the first also turns
TLS off (nginx_tls_mode: none, plain HTTP) and on again. The test CA and the
certificates come from the scenario's prepare (molecule/common/tls-test-cert.yml): site.crt is served,
next.crt is the renewal. A bounded request loop runs against the published HTTPS port on 127.0.0.1,
verifying every answer against the test CA.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support import Load, playbook, record

TEST_CA = "flask_app test CA"
# Where TLS is also turned off and on again, and the mode that converges there
# (plugins/tests/test_mode_coverage.py): the scenarios serve HTTPS everywhere else.
CONVERGES = ("default", "-d13", ["nginx_tls_mode:none"])


@pytest.fixture(scope="module")
def provided_host(host: Any, tls_mode: str) -> str:
    if tls_mode != "provided":
        pytest.skip(f"this host's nginx_tls_mode is {tls_mode}, not provided")
    return host.backend.host


def served_certificate(port: int, ca: Path) -> dict[str, Any]:
    """The certificate the site hands a client that trusts only the test CA (verified, name checked)."""
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        return {"der": der, **tls.getpeercert()}


def der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii"))


def comes_to_serve(port: int, ca: Path, certificate: Path, seconds: float = 15.0) -> bool:
    """Whether the site serves `certificate` within `seconds` (bounded): after a reload,
    nginx's old workers may still take a connection or two while they finish."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if served_certificate(port, ca)["der"] == der(certificate):
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def as_content(ansible_vars: dict[str, Any]) -> bool:
    """Whether the inventory gives this host its certificate as PEM text rather than as files."""
    return bool(ansible_vars.get("nginx_tls_certificate_content"))


def pair_vars(ansible_vars: dict[str, Any], directory: Path, tmp_path: Path, cert: str, key: str) -> str:
    """`-e @file` giving the host `cert`'s certificate and `key`'s key the way its inventory gives
    them (files, or content as from Vault); the file is the test's own, 0600."""
    crt, pem = directory / f"{cert}.crt", directory / f"{key}.key"
    if as_content(ansible_vars):
        values = {
            "nginx_tls_certificate_content": crt.read_text(encoding="ascii"),
            "nginx_tls_certificate_key_content": pem.read_text(encoding="ascii"),
        }
    else:
        values = {"nginx_tls_certificate": str(crt), "nginx_tls_certificate_key": str(pem)}
    extra = tmp_path / f"{cert}-{key}.json"
    extra.touch(mode=0o600)
    extra.write_text(json.dumps(values), encoding="utf-8")
    return f"@{extra}"


def test_the_provided_certificate_is_served(provided_host: str, tls_port: int, tls_test_dir: Path) -> None:
    served = served_certificate(tls_port, tls_test_dir / "ca.crt")
    assert served["der"] == der(tls_test_dir / "site.crt")
    assert dict(part[0] for part in served["issuer"])["commonName"] == TEST_CA


def test_a_key_that_is_not_the_certificates_is_refused_and_the_site_keeps_serving(
    host: Any,
    provided_host: str,
    tls_port: int,
    base_url: str,
    tls_verify: bool | str,
    tls_test_dir: Path,
    ansible_vars: dict[str, Any],
    tmp_path: Path,
) -> None:
    mismatch = pair_vars(ansible_vars, tls_test_dir, tmp_path, "next", "site")
    with host.sudo():
        site_before = host.file("/etc/nginx/sites-available/flask_app.conf").md5sum
    with Load(base_url + "/healthz", verify=tls_verify) as load:
        refused = playbook("site.yml", provided_host, None, "--tags", "nginx", "-e", mismatch)
    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, output[-3000:]
    if as_content(ansible_vars):
        named = "nginx_tls_certificate_key_content is not the private key of nginx_tls_certificate_content."
    else:
        named = (
            f"nginx_tls_certificate_key ({tls_test_dir / 'site.key'}) is not the private key of "
            f"nginx_tls_certificate ({tls_test_dir / 'next.crt'})."
        )
    assert f"{named} nginx -t refused the new /etc/nginx/sites-available/flask_app.conf" in output, output[-3000:]
    assert "PRIVATE KEY" not in output
    with host.sudo():
        assert host.file("/etc/nginx/sites-available/flask_app.conf").md5sum == site_before
        assert host.run("nginx -t").rc == 0
    assert served_certificate(tls_port, tls_test_dir / "ca.crt")["der"] == der(tls_test_dir / "site.crt")
    record(f"{provided_host}: a refused certificate and key, under load: {load.summary()}")
    assert load.ok > 0
    assert load.failures == [], load.failures[:20]


def test_a_new_certificate_goes_live_with_no_failed_request(
    host: Any,
    provided_host: str,
    tls_port: int,
    base_url: str,
    tls_verify: bool | str,
    tls_test_dir: Path,
    ansible_vars: dict[str, Any],
    tmp_path: Path,
) -> None:
    renewal = pair_vars(ansible_vars, tls_test_dir, tmp_path, "next", "next")
    try:
        with Load(base_url + "/healthz", verify=tls_verify) as load:
            renewed = playbook("site.yml", provided_host, None, "--tags", "nginx", "-e", renewal)
            assert renewed.returncode == 0, renewed.stdout[-3000:]
            renewed_served = comes_to_serve(tls_port, tls_test_dir / "ca.crt", tls_test_dir / "next.crt")
        record(f"{provided_host}: a new certificate, site.yml --tags nginx under load: {load.summary()}")
        assert renewed_served
        assert load.ok > 0
        assert load.failures == [], load.failures[:20]
        # Only the live pair is left on the host (and the DH parameters).
        with host.sudo():
            config = host.check_output("nginx -T 2>/dev/null")
            left = set(host.check_output("ls /etc/nginx/tls").split())
        live = set(re.findall(r"^\s*ssl_certificate(?:_key)? /etc/nginx/tls/([^;/]+);$", config, re.M))
        assert left == live | {"ffdhe2048.pem"} and len(live) == 2, (left, live)
        status = playbook("status.yml", provided_host, None, "-e", renewal)
        assert status.returncode == 0, status.stdout[-3000:]
    finally:
        # The inventory's certificate again, for the tests after this one.
        restored = playbook("site.yml", provided_host, None, "--tags", "nginx")
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert comes_to_serve(tls_port, tls_test_dir / "ca.crt", tls_test_dir / "site.crt")


def test_tls_turned_off_serves_plain_http_and_turned_on_again_the_certificate(
    provided_host: str, http_url: str, tls_port: int, tls_test_dir: Path
) -> None:
    scenario, suffix, _ = CONVERGES
    if os.environ.get("MOLECULE_SCENARIO_NAME") != scenario or not provided_host.endswith(suffix):
        pytest.skip(f"TLS is turned off and on on the {suffix} host of the {scenario} scenario")
    try:
        off = playbook("site.yml", provided_host, {"nginx_tls_mode": "none"}, "--tags", "nginx")
        assert off.returncode == 0, off.stdout[-3000:]
        plain = requests.get(http_url + "/healthz", timeout=10, allow_redirects=False)
        assert plain.status_code == 200, plain.headers
        assert "Strict-Transport-Security" not in plain.headers
        with pytest.raises(OSError):
            served_certificate(tls_port, tls_test_dir / "ca.crt")
    finally:
        on = playbook("site.yml", provided_host, None, "--tags", "nginx")
    assert on.returncode == 0, on.stdout[-3000:]
    assert comes_to_serve(tls_port, tls_test_dir / "ca.crt", tls_test_dir / "site.crt")
    assert requests.get(http_url + "/healthz", timeout=10, allow_redirects=False).status_code == 301
