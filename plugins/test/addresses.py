"""Jinja tests on addresses, one rule each for every role and playbook.

`x is flask_app_loopback`: an IPv4 or IPv6 loopback address (127.0.0.0/8, ::1),
as Python's ipaddress says. Anything else, a host name included, is not.
"""

from __future__ import annotations

import ipaddress


def is_loopback(value: object) -> bool:
    try:
        return ipaddress.ip_address(str(value)).is_loopback
    except ValueError:
        return False


class TestModule:
    def tests(self) -> dict[str, object]:
        return {"flask_app_loopback": is_loopback}
