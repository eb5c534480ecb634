"""A service marked `state: absent` leaves every rendered file but the firewall's guard.

site.yml renders nginx, uWSGI, logrotate and the firewall from the present services only
(the removal play then deletes what the absent one left); the firewall keeps refusing the
absent service's port until its entry stops naming it, because its unit stops only after
this run's rules are in force (docs/operations.md, "Removing a service").
"""

from __future__ import annotations

from typing import Any

import render
from test_hostile_inputs import host_variables


def rendered_with(extra_services: list[dict[str, Any]]) -> tuple[render.Play, dict[str, str]]:
    variables = host_variables("tcp")
    services = render.Play(variables).value(variables["stack_services"])
    variables["stack_services"] = [*services, *extra_services]
    variables["hostvars"] = {"app1": variables}
    play = render.check(variables)
    return play, render.render(play)


def text_of(rendered: dict[str, str], template: str) -> str:
    return "\n".join(text for name, text in rendered.items() if name.startswith(template))


def test_an_absent_service_is_rendered_nowhere_but_its_port_stays_guarded() -> None:
    play, rendered = rendered_with([{"name": "old", "state": "absent", "port": 8099, "user": "old_svc"}])
    assert [s["name"] for s in play.variables["stack_resolved_services"]] == ["flask_app"]
    assert play.variables["stack_absent_services"] == [
        {
            "name": "old",
            "user": "old_svc",
            "group": "old_svc",
            "dir": "/srv/flask_app/old",
            "data_path": "/srv/flask_app/old/data",
            "unit": "uwsgi-old",
            "releases_path": "/srv/flask_app/old/releases",
            "current_path": "/srv/flask_app/old/current",
            "previous_path": "/srv/flask_app/old/previous",
            "env_file": "/etc/flask_app/old.env",
            "ini_file": "/etc/uwsgi/old/app.ini",
            "unit_file": "/etc/systemd/system/uwsgi-old.service",
            "runtime_dir": "/run/old",
            "socket_path": "/run/old/uwsgi.sock",
            "stats_socket": "/run/old/stats.sock",
            "master_fifo": "/run/old/master.fifo",
            "logreopen_file": "/run/old/logreopen",
            "port": 8099,
            "purge": False,
        }
    ]
    assert "old" not in text_of(rendered, "nginx/templates/etc/nginx/sites-available/site.conf.j2")
    assert "old" not in text_of(rendered, "uwsgi/templates/etc/logrotate.d/uwsgi.j2")
    assert "tcp dport { 8080, 8099 } reject" in text_of(rendered, "firewall/templates/etc/flask_app/firewall.nft.j2")


def test_an_absent_entry_without_a_port_leaves_the_firewall_as_for_the_others() -> None:
    _, rendered = rendered_with([{"name": "old", "state": "absent"}])
    assert "tcp dport { 8080 } reject" in text_of(rendered, "firewall/templates/etc/flask_app/firewall.nft.j2")
