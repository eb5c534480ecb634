"""Linear strategy, run through Mitogen when the controller has it installed.

Most of a run's time is the per-task cost on the host: every Ansible module
starts a Python that unpacks and compiles ansible.module_utils again. Mitogen
keeps one interpreter per host with those modules loaded, which cut a no-op
site.yml run to about a third here (docs/performance.md). Without Mitogen
installed this is Ansible's own linear strategy, unchanged.

ansible.cfg sets this strategy for every play, also the ones molecule runs on
the controller itself (its docker driver's create and destroy playbooks,
`connection: local`). Those run on the plain linear strategy: there is no
remote interpreter to keep, and under Mitogen their async docker tasks never
report finished, so `molecule create` waits until its retries run out.
"""

from __future__ import annotations

import os

from ansible.executor.play_iterator import PlayIterator
from ansible.playbook.play_context import PlayContext
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy
from ansible.utils.display import Display

display = Display()

StrategyModule: type[LinearStrategy]

try:
    if os.environ.get("FLASK_APP_MITOGEN", "1") == "0":
        raise ImportError("FLASK_APP_MITOGEN=0")
    # Imported for its side effect: Mitogen registers its connection plugins.
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, LinearStrategy):  # type: ignore[no-redef]
        """Ansible's linear strategy with Mitogen's connection multiplexing."""

        def run(self, iterator: PlayIterator, play_context: PlayContext, result: int = 0) -> int:
            if iterator._play.connection == "local":
                display.vvv("flask_app_linear: plain linear strategy for a connection: local play")
                return LinearStrategy.run(self, iterator, play_context)
            return super().run(iterator, play_context)

except ImportError as error:
    display.vvv(f"flask_app_linear: plain linear strategy ({error})")
    StrategyModule = LinearStrategy  # type: ignore[misc]
