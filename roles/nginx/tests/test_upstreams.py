"""Which app servers a front end sends requests to is rendered from data only.

The servers of each upstream live in a file of their own, included by the site
(templates/etc/nginx/flask_app-upstreams/service.conf.j2). site.yml renders it on each
front end (roles/nginx/tasks/main.yml); deploy.yml and rollback.yml render it again around
each batch from an app server, delegated to every front end (roles/nginx/tasks/drain.yml).
An app server is down when stack_drain is set for it in the inventory or its batch is being
switched. A stack of one front end and two app servers is modelled as Ansible sees it: each
host's `hostvars` entry holds its inventory and the stack role's facts, never a role's defaults.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import render
from test_hostile_inputs import host_variables

SOURCE = "etc/nginx/flask_app-upstreams/service.conf.j2"
UPSTREAM = f"nginx/templates/{SOURCE}"
WEB, APP1, APP2 = "web1", "app1", "app2"
ADDRESSES = {WEB: "10.0.0.11", APP1: "10.0.0.21", APP2: "10.0.0.22"}


def tasks(file: str) -> list[dict[str, Any]]:
    return render.load_yaml(render.ROLES / "nginx" / "tasks" / file)


def template_task(file: str) -> dict[str, Any]:
    [task] = [task for task in tasks(file) if task.get("ansible.builtin.template", {}).get("src") == SOURCE]
    return task


def services() -> list[dict[str, Any]]:
    """Two TCP services as the stack role resolves them."""
    [flask_app] = render.check(host_variables("tcp")).variables["stack_resolved_services"]
    return [flask_app, {**copy.deepcopy(flask_app), "name": "api", "port": 8081}]


def stack(inventory: dict[str, dict[str, Any]]) -> dict[str, render.Play]:
    """A Play per host of web1 (web), app1 and app2 (app), with the given inventory variables."""
    resolved = services()
    hostvars: dict[str, dict[str, Any]] = {}
    for name in (WEB, APP1, APP2):
        hostvars[name] = {
            **inventory.get(name, {}),
            "inventory_hostname": name,
            # The stack role's facts.
            "stack_web_hosts": [WEB],
            "stack_app_hosts": [APP1, APP2],
            "stack_resolved_services": resolved,
            "stack_uwsgi_bind_address": ADDRESSES[name],
        }
    return {
        name: render.Play({**render.role_defaults(), **variables, "hostvars": hostvars})
        for name, variables in hostvars.items()
    }


def converge(plays: dict[str, render.Play], service: dict[str, Any]) -> str:
    """The file site.yml's nginx role writes on web1."""
    return render.render_template(plays[WEB], UPSTREAM, service)


def drain(plays: dict[str, render.Play], batch: list[str], out: list[str]) -> dict[str, str]:
    """The files drain.yml writes, run on the first host of the batch with the app servers
    `out` (its one input, nginx_drain_batch): {front end: {service: text}}."""
    task = template_task("drain.yml")
    play = plays[batch[0]]
    context = {
        "nginx_drain_batch": out,
        "ansible_play_batch": batch,
        "role_path": str(render.ROLES / "nginx"),
    }
    written = {}
    for item in play.value(task["loop"], context):
        task_vars = {**context, "item": item}
        for name, value in task["vars"].items():  # in order: a later one may read an earlier one
            task_vars[name] = play.value(value, task_vars)
        front_end = play.value(task["delegate_to"], task_vars)
        service = task_vars["nginx_upstream_service"]
        written[f"{front_end}:{service['name']}"] = render.render_template(play, UPSTREAM, service, task_vars)
    return written


def server_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("server ")]


def test_a_drained_app_server_is_down_in_every_upstream() -> None:
    plays = stack({APP2: {"stack_drain": True}})
    for service in services():
        assert server_lines(converge(plays, service)) == [
            f"server 10.0.0.21:{service['port']} max_fails=2 fail_timeout=10s;  # app1",
            f"server 10.0.0.22:{service['port']} max_fails=2 fail_timeout=10s down;  # app2",
        ]


def test_without_stack_drain_every_app_server_takes_requests() -> None:
    plays = stack({})
    for service in services():
        assert " down;" not in converge(plays, service)


def test_the_site_includes_the_servers_of_each_upstream() -> None:
    plays = stack({})
    site = render.render_template(plays[WEB], "nginx/templates/etc/nginx/sites-available/site.conf.j2")
    for name in ("flask_app", "api"):
        assert f"upstream {name} {{\n    include /etc/nginx/flask_app-upstreams/{name}.conf;\n}}" in site
    assert "server 10.0.0" not in site


def test_site_yml_and_the_drain_write_the_same_files_the_same_way() -> None:
    """Same template, destination, owner, mode and nginx check: only the data differs."""
    converge_task = template_task("main.yml")
    assert converge_task["ansible.builtin.template"] == template_task("drain.yml")["ansible.builtin.template"]
    assert converge_task["loop_control"]["loop_var"] == "nginx_upstream_service"


# web1's own inventory sets a fail_timeout the app servers never see (they keep the role's
# default, 10); every host's (group_vars/all) sets a max_fails; stack_drain is set for none.
# (A server option set in the app servers' inventory alone is not the front end's: drain.yml
# reads the front end's hostvars, else the role's default as the app server sees it.)
INVENTORY = {
    WEB: {"nginx_upstream_fail_timeout": 30, "nginx_upstream_max_fails": 7},
    APP1: {"nginx_upstream_max_fails": 7},
    APP2: {"nginx_upstream_max_fails": 7},
}


@pytest.mark.parametrize("batch", [[APP1], [APP2]])
def test_the_batch_is_down_while_it_is_switched(batch: list[str]) -> None:
    plays = stack(INVENTORY)
    [service, api] = services()
    written = drain(plays, batch, batch)
    assert set(written) == {f"{WEB}:flask_app", f"{WEB}:api"}
    for name, port in ((service["name"], 8080), (api["name"], 8081)):
        assert server_lines(written[f"{WEB}:{name}"]) == [
            f"server {ADDRESSES[host]}:{port} max_fails=7 fail_timeout=30s{' down' if host in batch else ''};  # {host}"
            for host in (APP1, APP2)
        ]


@pytest.mark.parametrize("inventory", [INVENTORY, {APP2: {"stack_drain": True}}], ids=["settings", "stack_drain"])
def test_after_the_batch_the_front_end_has_what_site_yml_writes(inventory: dict[str, dict[str, Any]]) -> None:
    """A site.yml run after a deploy or a rollback changes nothing on the front ends (a host
    drained by stack_drain stays down), and renders the same servers around a batch."""
    plays = stack(inventory)
    written = drain(plays, [APP1], [])
    for service in services():
        assert written[f"{WEB}:{service['name']}"] == converge(plays, service)


def test_a_batch_is_taken_out_only_while_another_app_server_serves() -> None:
    block = render.load_yaml(render.PROJECT / "playbooks" / "tasks" / "switch-batch.yml")[0]
    condition = block["vars"]["switch_batch_others_serve"]

    def others_serve(inventory: dict[str, dict[str, Any]], batch: list[str]) -> bool:
        return bool(stack(inventory)[batch[0]].value(condition, {"ansible_play_batch": batch}))

    assert others_serve({}, [APP1])
    assert not others_serve({}, [APP1, APP2])
    # app2 is drained by stack_drain: taking app1 out too would leave nothing to serve.
    assert not others_serve({APP2: {"stack_drain": True}}, [APP1])
    assert others_serve({APP2: {"stack_drain": True}}, [APP2])


def test_the_batch_switch_takes_its_batch_out_and_puts_every_one_back() -> None:
    block = render.load_yaml(render.PROJECT / "playbooks" / "tasks" / "switch-batch.yml")[0]
    [out] = [task for task in block["block"] if task.get("ansible.builtin.include_role", {}).get("name") == "nginx"]
    [back] = block["always"]
    assert out["ansible.builtin.include_role"]["tasks_from"] == back["ansible.builtin.include_role"]["tasks_from"]
    assert out["vars"] == {"nginx_drain_batch": "{{ ansible_play_batch }}"}
    assert back["vars"] == {"nginx_drain_batch": []}
