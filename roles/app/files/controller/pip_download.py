"""`python -I pip_download.py <pip arguments>`: pip, unable to start any process.

Runs on the controller (tasks/wheelhouse.yml: the offline wheelhouse), never on a host. pip
downloads wheels without running them, but it builds whatever a requirement points at that
is not a wheel: a project directory, an sdist, a `name @ file:///...` or `@ https://...`
dependency that a wheel from the index declares. Every build is a new process (pip runs the
build backend in a subprocess), so this refuses every process start through Python's audit
hooks (PEP 578) before pip is loaded: a download that would build fails, and no code of the
app or of a dependency runs on the controller. pip itself never needs a process to
download wheels.
"""

from __future__ import annotations

import runpy
import sys

# Every way Python starts a program or forks (the audit events of subprocess and os).
PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn"}
)


def refuse_processes(event: str, args: tuple[object, ...]) -> None:
    if event in PROCESS_EVENTS:
        raise PermissionError(
            f"flask_app offline wheelhouse: pip tried to start a process ({event} {args[:2]!r}), which means"
            " a build: the controller downloads wheels only and runs no code of the app or its dependencies"
        )


def main() -> None:
    sys.addaudithook(refuse_processes)
    sys.argv = ["pip", *sys.argv[1:]]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
