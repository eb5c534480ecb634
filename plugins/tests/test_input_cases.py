"""Every wrong value of input_cases.py is refused by site.yml's up-front checks, with its message.

The checks run in-process as Ansible runs them (render.py), on the good inventory of the
generative test with one case's values put in, as `-e` would put them. The cases of
ON_HOST also run against a real host in the unix scenario.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import render
from input_cases import CASES, ON_HOST
from test_hostile_inputs import host_variables


@pytest.mark.parametrize(("case", "extra", "fragments"), CASES, ids=[case for case, _, _ in CASES])
def test_wrong_value_is_refused_with_its_message(case: str, extra: dict[str, Any], fragments: list[str]) -> None:
    variables = {**host_variables("tcp"), **copy.deepcopy(extra)}
    variables["hostvars"] = {"app1": variables}
    with pytest.raises(render.Refused) as refused:
        render.check(variables)
    for fragment in fragments:
        assert fragment in str(refused.value), f"{case}: no {fragment!r} in {refused.value}"


def test_every_case_on_the_real_host_is_a_case() -> None:
    assert not ON_HOST - {case for case, _, _ in CASES}, "ON_HOST names a case that does not exist"
