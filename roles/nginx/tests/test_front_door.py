"""What nginx tells the app about the client, and what it promises browsers about HTTPS.

The client's address, scheme and host reach uWSGI from nginx's own variables, never from the
client's headers; a load balancer's X-Forwarded-For and X-Forwarded-Proto count only when it is
in nginx_trusted_proxies (the cluster scenario's test_real_ip.py checks it on real hosts).
HSTS's includeSubDomains and preload are opt-in; OCSP stapling only for a provided certificate.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

NGINX_CONF = "nginx/templates/etc/nginx/nginx.conf.j2"
SITE = "nginx/templates/etc/nginx/sites-available/site.conf.j2"


def rendered(template: str, **inventory: Any) -> str:
    variables = host_variables("unix-tls")
    variables.update(inventory)
    return render.render_template(render.check(variables), template)


def geo_block(text: str, variable: str) -> list[str]:
    """The entries of `geo $realip_remote_addr $<variable> { ... }`."""
    match = re.search(r"geo \$realip_remote_addr \$" + variable + r" \{\n(.*?)\n    \}", text, re.S)
    assert match, text
    return [line.strip() for line in match.group(1).splitlines()]


def test_without_trusted_proxies_the_forwarded_headers_count_for_nothing() -> None:
    text = rendered(NGINX_CONF)
    assert "set_real_ip_from" not in text and "real_ip_header" not in text
    assert geo_block(text, "flask_app_trusted_proxy") == ["default 0;"]


def test_trusted_proxies_name_the_client_from_x_forwarded_for() -> None:
    text = rendered(NGINX_CONF, nginx_trusted_proxies=["10.0.0.5", "2001:db8::/32"])
    assert re.findall(r"^    set_real_ip_from (\S+);$", text, re.M) == ["10.0.0.5", "2001:db8::/32"]
    assert "\n    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n" in text
    assert geo_block(text, "flask_app_trusted_proxy") == ["default 0;", "10.0.0.5 1;", "2001:db8::/32 1;"]


def test_request_ids_are_trusted_by_the_connection_peer_not_the_named_client() -> None:
    """$remote_addr is the client named by a trusted proxy; the request id trust stays with the
    peer that actually connected (the balancer), as before real-IP handling."""
    text = rendered(NGINX_CONF, nginx_trusted_proxies=["10.0.0.5"], nginx_request_id_trusted_sources=["10.0.0.5"])
    assert geo_block(text, "flask_app_request_id_trusted") == ["default 0;", "10.0.0.5 1;"]


def test_the_app_gets_forwarded_headers_from_nginx_not_from_the_client() -> None:
    text = rendered(SITE)
    for line in (
        "uwsgi_param HTTP_X_FORWARDED_FOR $remote_addr;",
        "uwsgi_param HTTP_X_FORWARDED_PROTO $flask_app_scheme;",
        "uwsgi_param HTTP_X_FORWARDED_HOST $host;",
        "uwsgi_param UWSGI_SCHEME $flask_app_scheme;",
        "uwsgi_param HTTPS $flask_app_https if_not_empty;",
    ):
        # Once per app route (/), after Debian's uwsgi_params so that these win.
        assert text.count(line) == 1, line
        assert text.index("include /etc/nginx/uwsgi_params;") < text.index(line)


def hsts(**inventory: Any) -> str:
    [header] = set(re.findall(r'add_header Strict-Transport-Security "([^"]*)" always;', rendered(SITE, **inventory)))
    return header


def test_hsts_covers_only_this_name_by_default() -> None:
    assert hsts() == "max-age=63072000"


@pytest.mark.parametrize(
    ("inventory", "header"),
    [
        ({"nginx_hsts_include_subdomains": True}, "max-age=63072000; includeSubDomains"),
        (
            {"nginx_hsts_include_subdomains": True, "nginx_hsts_preload": True, "nginx_hsts_max_age": 31536000},
            "max-age=31536000; includeSubDomains; preload",
        ),
    ],
)
def test_hsts_switches(inventory: dict[str, Any], header: str) -> None:
    assert hsts(**inventory) == header


def test_no_hsts_without_tls() -> None:
    assert "Strict-Transport-Security" not in rendered(SITE, nginx_tls_mode="none")


PROVIDED = {
    "nginx_tls_mode": "provided",
    "nginx_tls_certificate_content": "-----BEGIN CERTIFICATE-----",
    "nginx_tls_certificate_key_content": "-----BEGIN PRIVATE KEY-----",
}


@pytest.mark.parametrize(
    ("inventory", "stapled"),
    [
        (PROVIDED, True),
        ({**PROVIDED, "nginx_ocsp_stapling": False}, False),
        # A self-signed certificate names no responder.
        ({"nginx_tls_mode": "self_signed"}, False),
        ({"nginx_tls_mode": "none"}, False),
    ],
)
def test_ocsp_stapling_only_for_a_provided_certificate(inventory: dict[str, Any], stapled: bool) -> None:
    text = rendered(SITE, **inventory)
    assert ("ssl_stapling on;" in text) is stapled
    # Verified against the system CAs.
    assert ("ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;" in text) is stapled


def test_stapling_looks_the_responder_up_with_the_hosts_plain_name_servers() -> None:
    variables = host_variables("unix-tls")
    name_servers = ["10.0.0.2", "2001:db8::53", "fe80::1%eth0", "bad;server"]
    facts = {**variables["ansible_facts"], "dns": {"nameservers": name_servers}}
    text = rendered(SITE, **PROVIDED, ansible_facts=facts)
    assert "    resolver 10.0.0.2 [2001:db8::53] valid=300s;\n" in text
