"""The client's real address behind a load balancer (nginx_trusted_proxies: the proxy host).

A request through the trusted proxy is logged, on web1 and on the app server that served it, with
the client that the proxy names in X-Forwarded-For, and the app sees the scheme the proxy says the
client used. The same headers from a host that is not trusted (app1) count for nothing: the logs
and the app see that host's own address and nginx's own scheme.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import time
from typing import Any

import pytest
from conftest import APPS, host_named, private_address
from support import fetch_inside, record

ACCESS_LOG = "/var/log/nginx/flask_app.access.log"
UWSGI_LOG = "/var/log/uwsgi/api.log"
PROXY = "flask-app-cluster-proxy"
CLIENT = "203.0.113.7"
# What a client would like the app to believe; only a trusted proxy's first two count.
CLAIMS = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}


@pytest.fixture(scope="module")
def proxy() -> Any:
    return host_named(PROXY)


def _grep(host: Any, path: str, needle: str) -> list[str]:
    return host.run(f"grep -F -- {shlex.quote(needle)} {path}").stdout.splitlines()


def _ask(sender: Any, web: Any, apps: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """GET /api/request on web1 (plain HTTP) from `sender` with CLAIMS: what the app saw, and the
    request's line in web1's access log and in the uWSGI log of the app server that served it."""
    rc, out = fetch_inside(sender, f"http://{private_address(web)}/api/request", CLAIMS)
    assert rc == 0, out
    status, headers, body = out.split("\n", 2)
    assert status == "200", out
    request_id = ast.literal_eval(headers)["X-Request-ID"]
    deadline = time.monotonic() + 10  # the access log is written in blocks, at least every second
    while not (front := _grep(web, ACCESS_LOG, f"rid={request_id}")) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(front) == 1, (request_id, front)
    upstream = re.search(r" ua=(\S+):\d+ ", front[0])
    assert upstream, front[0]
    served_by = {private_address(host): host for host in apps.values()}[upstream.group(1)]
    [app_line] = _grep(served_by, UWSGI_LOG, f"id={request_id} ")
    return json.loads(body), front[0], app_line


def _assert_seen_as(address: str, scheme: str, seen: dict[str, Any], front: str, app: str) -> None:
    """The front end's access log, uWSGI's log and the app all name `address`, and the app sees
    `scheme`, in nginx's own X-Forwarded-* too; the Host claimed by the sender is never believed."""
    assert front.startswith(f"{address} - "), front
    assert app.split()[-1] == f"addr={address}", app
    assert seen["remote_addr"] == address
    assert seen["scheme"] == scheme
    assert seen["external_url"].startswith(f"{scheme}://"), seen
    assert seen["forwarded"]["For"] == address and seen["forwarded"]["Proto"] == scheme, seen
    assert seen["forwarded"]["Host"] != "evil.example"


def test_through_a_trusted_proxy_the_logs_and_the_app_see_the_client(
    proxy: Any, web: Any, apps: dict[str, Any]
) -> None:
    [trusted] = web.ansible.get_variables()["nginx_trusted_proxies"]
    assert trusted in proxy.check_output("hostname -I").split()
    seen, front, app = _ask(proxy, web, apps)
    # TLS ended at the balancer: the app builds https URLs without ProxyFix.
    _assert_seen_as(CLIENT, "https", seen, front, app)
    # The app's X-Forwarded-* are nginx's: the client, the scheme, the Host asked for (not the claim).
    assert seen["forwarded"] == {"For": CLIENT, "Proto": "https", "Host": seen["external_url"].split("/")[2]}
    record(f"through the trusted proxy:\n  web1 {ACCESS_LOG}: {front}\n  {UWSGI_LOG}: {app}\n  app: {seen}")


def test_from_an_untrusted_host_forwarded_headers_are_ignored(apps: dict[str, Any], web: Any) -> None:
    sender = apps[APPS[0]]
    own = private_address(sender)
    seen, front, app = _ask(sender, web, apps)
    _assert_seen_as(own, "http", seen, front, app)
