"""render.py walks site.yml's pre_tasks itself, and this test holds the walk to Ansible's.

The walk is a model: Ansible's executor forks a worker per task, far too slow for the thousands
of checks of test_hostile_inputs.py, and evaluating the tasks Ansible loads (Playbook.load) cost
a fifth more per check than the walk (docs/testing.md). So Ansible loads site.yml here, expanding
every import as a run does, and the walk must come to the same tasks in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import render
from ansible.inventory.manager import InventoryManager
from ansible.playbook import Playbook
from ansible.playbook.block import Block
from ansible.playbook.task import Task
from ansible.vars.manager import VariableManager
from test_hostile_inputs import host_variables


def tasks(blocks: list[Any]) -> Iterator[Task]:
    for block in blocks:
        yield from tasks(block.block) if isinstance(block, Block) else [block]


def ansible_pre_tasks() -> list[Task]:
    """site.yml's pre_tasks as Ansible loads them, without its own bookkeeping (meta tasks, and
    the argument-spec check it adds to a role's main entry point, which the walk models apart)."""
    inventory = InventoryManager(render.LOADER, "localhost,")
    variables = VariableManager(render.LOADER, inventory)
    site = Playbook.load(str(render.PROJECT / "playbooks" / "site.yml"), variables, render.LOADER)
    [play, *_] = site.get_plays()
    return [
        task
        for task in tasks(play.pre_tasks)
        if task.action != "meta" and "validate_args_context" not in task.args  # the added check
    ]


def test_the_walk_comes_to_the_tasks_ansible_loads_in_its_order() -> None:
    """A host in both groups, where every import of site.yml's checks applies."""
    play = render.check(host_variables("unix-tls"))
    assert play.reached == [task.name for task in ansible_pre_tasks()]
    assert len(play.reached) > 50


def test_on_that_host_every_import_of_the_checks_applies() -> None:
    """The conditions of the imports around each task (the `when` of its parent, as Ansible
    passes them on) hold there, so the comparison above covers every task."""
    play = render.check(host_variables("unix-tls"))
    for task in ansible_pre_tasks():
        assert play.true(task._parent.when), task.get_name()
