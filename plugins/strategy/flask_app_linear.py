"""Linear strategy, run through Mitogen when the controller has it installed,
with the controller prepared once per play for the task processes it forks.

Most of a run's time is the per-task cost on the host: every Ansible module
starts a Python that unpacks and compiles ansible.module_utils again. Mitogen
keeps one interpreter per host with those modules loaded, which cut a no-op
site.yml run to about a third here (docs/performance.md). Without Mitogen
installed this is Ansible's own linear strategy plus the loading below.

Each task runs in a process forked from this one. The first template in it
that uses a filter or a test made that process import every filter and test
plugin file (Ansible's own and plugins/filter, plugins/test), about 50 ms a
task, lost when the process ended. Loading them here, before any fork, hands
them to every task's process; freezing the garbage collector's view of this
process spares the task processes copying the memory they inherit. Together a
no-op site.yml costs about half the controller CPU (docs/performance.md).

Mitogen finds the module_utils an Ansible module needs by compiling the
module and every module_util it imports, in its connection process, anew for
each module of a run: a no-op site.yml compiled 134 files 699 times for its
12 modules. The same source compiles to the same code, so that compile is
remembered for the run (remember_compiles below): about a tenth of a no-op
run's controller CPU (docs/performance.md).

An inventory's ssh settings mean under Mitogen what they mean under Ansible's
ssh connection (honour_ssh_host_key_settings below): Mitogen put its own
`-o StrictHostKeyChecking yes` before the inventory's ssh arguments whenever
Ansible's host key checking is on (the default), and ssh keeps the first
value it reads, so `-o StrictHostKeyChecking=no` (or accept-new) in
`ansible_ssh_common_args`, or in an ssh config file, had no effect.

ansible.cfg sets this strategy for every play, also the ones molecule runs on
the controller itself (its docker driver's create and destroy playbooks,
`connection: local`). Those run on the plain linear strategy: there is no
remote interpreter to keep, and under Mitogen their async docker tasks never
report finished, so `molecule create` waits until its retries run out.
"""

from __future__ import annotations

import functools
import gc
import os

from ansible.executor.play_iterator import PlayIterator
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import filter_loader, test_loader
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy
from ansible.utils.display import Display

display = Display()


def prepare_for_forks() -> None:
    """Import every filter and test plugin now, in the process the task processes fork from,
    then leave what this process holds out of the garbage collector's sweeps (gc.freeze, as
    Python's documentation advises before fork()): a sweep in a task's process would write
    to every object it inherited, so that the kernel copies their memory pages."""
    for loader in (filter_loader, test_loader):
        for _plugin in loader.all():
            pass
    gc.freeze()


class PlainStrategy(LinearStrategy):
    """Ansible's linear strategy, with the controller prepared for forks before the first task."""

    def run(self, iterator: PlayIterator, play_context: PlayContext, result: int = 0) -> int:
        prepare_for_forks()
        return super().run(iterator, play_context)


StrategyModule: type[LinearStrategy]

try:
    if os.environ.get("FLASK_APP_MITOGEN", "1") == "0":
        raise ImportError("FLASK_APP_MITOGEN=0")
    # Imported for its side effect: Mitogen registers its connection plugins.
    import ansible_mitogen.loaders
    import ansible_mitogen.module_finder
    import ansible_mitogen.strategy
    import mitogen.ssh

    def remember_compiles() -> None:
        """Mitogen's module scan calls compile(source, name, 'exec') on each file it reads:
        the same arguments give the same code object, so it is compiled once per run. The
        scan runs in Mitogen's connection process, forked from this one after the strategy
        is loaded, so that process inherits the remembered compile."""
        ansible_mitogen.module_finder.compile = functools.cache(compile)  # type: ignore[attr-defined]

    remember_compiles()

    def honour_ssh_host_key_settings() -> None:
        """With Ansible's host key checking on (its default), leave StrictHostKeyChecking to the
        inventory's ssh arguments and the ssh config, as Ansible's ssh connection does: Mitogen's
        ssh command line starts with its own `-o StrictHostKeyChecking yes`, and ssh keeps the
        first value of an option, so the inventory's setting was never read. Unset anywhere, ssh
        asks, and Mitogen's BatchMode (or, with a password, its prompt watcher) refuses an unknown
        or changed host key, as before. Checking off (host_key_checking = False,
        ansible_host_key_checking: false) keeps Mitogen's `StrictHostKeyChecking no`. The ssh
        command is built in Mitogen's connection process, forked from this one after the strategy
        is loaded, so that process inherits this."""
        connection = mitogen.ssh.Connection
        if getattr(connection.get_boot_command, "flask_app_honours_ssh_args", False):
            return
        mitogen_boot_command = connection.get_boot_command
        own = ["-o", "StrictHostKeyChecking yes"]

        def get_boot_command(self: mitogen.ssh.Connection) -> list[str]:
            argv: list[str] = mitogen_boot_command(self)
            if self.options.check_host_keys != "enforce":
                return argv
            # Mitogen's own pair comes before the inventory's arguments: the first one.
            for at in range(len(argv) - 1):
                if argv[at : at + 2] == own:
                    return argv[:at] + argv[at + 2 :]
            return argv

        get_boot_command.flask_app_honours_ssh_args = True  # type: ignore[attr-defined]
        connection.get_boot_command = get_boot_command  # type: ignore[method-assign]

    honour_ssh_host_key_settings()

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, LinearStrategy):  # type: ignore[no-redef]
        """Ansible's linear strategy with Mitogen's connection multiplexing."""

        def run(self, iterator: PlayIterator, play_context: PlayContext, result: int = 0) -> int:
            prepare_for_forks()
            if iterator._play.connection == "local":
                display.vvv("flask_app_linear: plain linear strategy for a connection: local play")
                return LinearStrategy.run(self, iterator, play_context)
            return super().run(iterator, play_context)

except ImportError as error:
    display.vvv(f"flask_app_linear: plain linear strategy ({error})")
    StrategyModule = PlainStrategy  # type: ignore[misc]
