"""The ACME HTTP-01 challenge in the site (nginx_tls_mode: acme): answered on port 80 from the
webroot even when everything else redirects, and a token this front end does not have is asked of
the other front ends of its stack, one hop only (docs/security.md). test_acme.py in the default
scenario proves the order itself against pebble."""

from __future__ import annotations

import json
import re
from typing import Any

import render
from test_hostile_inputs import host_variables

SITE = "nginx/templates/etc/nginx/sites-available/site.conf.j2"
ACME = {
    "nginx_tls_mode": "acme",
    "nginx_acme_email": "ops@example.com",
    "nginx_server_name": "www.example.com example.com",
}


def rendered(**inventory: Any) -> str:
    variables = host_variables("unix-tls")
    variables.update(ACME | inventory)
    return render.render_template(render.check(variables), SITE)


def servers(text: str) -> list[str]:
    """The server blocks of the site, in order."""
    return re.findall(r"^server \{\n.*?^\}", text, re.S | re.M)


def test_the_challenge_is_answered_in_the_redirecting_port_80_server() -> None:
    redirect, main = servers(rendered())[:2]
    assert "listen 80 default_server;" in redirect and "return 301 https://" in redirect
    assert "location ^~ /.well-known/acme-challenge/ {\n        root /var/lib/flask_app-acme/webroot;" in redirect
    assert "acme-challenge" not in main


def test_without_a_redirect_the_main_server_answers_the_challenge() -> None:
    (main,) = servers(rendered(nginx_http_redirect=False))[:1]
    assert "listen 80 default_server;" in main and "location ^~ /.well-known/acme-challenge/ {" in main


def test_one_front_end_has_no_peers_to_ask() -> None:
    text = rendered()
    assert "acme_peers" not in text
    assert "try_files $uri =404;" in text


def test_a_token_this_front_end_lacks_is_asked_of_the_others_once() -> None:
    text = rendered(nginx_acme_peers=["10.0.0.12", "fd00::13"])
    upstream = re.search(r"upstream flask_app_acme_peers \{\n(.*?)\n\}", text, re.S)
    assert upstream, text
    assert upstream.group(1).split("\n") == [
        "    server 10.0.0.12:80 max_fails=0;",
        "    server [fd00::13]:80 max_fails=0;",
    ]
    assert "try_files $uri @acme_peers;" in text
    peers = text[text.index("location @acme_peers {") :]
    assert "if ($http_x_flask_app_acme_hop) {\n            return 404;" in peers
    assert "proxy_set_header X-Flask-App-Acme-Hop 1;" in peers
    assert "proxy_next_upstream error timeout http_404;" in peers


def test_other_modes_have_no_challenge_location() -> None:
    assert "acme" not in rendered(nginx_tls_mode="self_signed")


def test_the_client_asks_for_each_name_once_in_lower_case() -> None:
    """CAs issue for lower-cased names, each once: the config names them so, or the certificate
    would never match the config and every run would order again."""
    variables = host_variables("unix-tls")
    variables.update(ACME | {"nginx_server_name": "WWW.Example.com example.com www.example.com"})
    config = json.loads(render.render_template(render.check(variables), "nginx/templates/etc/flask_app-acme.json.j2"))
    assert config["names"] == ["www.example.com", "example.com"]
