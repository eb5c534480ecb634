"""Root never follows a path the service user (or a build) can write, static files obey the
release's rules, and no secret of a service is printed, even at -vvv (docs/security.md,
"Paths the service can write").

The default service is converged with what the attacks of issue 29 needed: nested data
directories (uploads/images), a config file below a data directory (instance/conf/app.cfg),
secret_env, and a static directory holding a `.env` file, a file its `exclude` names and a
link. On the default scenario a second service is built from a project whose setup.py plants
a link in the virtualenv being built. Then, as the service user, the link root made for the
config file is pointed at a directory of root's, and the run is repeated: every target stays
as it was. The last run puts the scenario's own inventory back. Runs on the Debian 13 host of
the default scenario and, without the virtualenv build and the repeated run, on the Debian 12
host of the unix scenario (a unix socket, offline wheels).
"""

from __future__ import annotations

import os
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DEFAULT_SERVICE, PROJECT, playbook, variant

SERVICE_DIR = "/srv/flask_app/flask_app"
DATA = f"{SERVICE_DIR}/data"
CONFIG = f"{SERVICE_DIR}/config"
STATIC = yaml.safe_load((PROJECT / "roles" / "nginx" / "defaults" / "main.yml").read_text(encoding="utf-8"))[
    "nginx_static_root"
]
# Directories of root's that a link of the service (or of a build) points at.
TARGET = "/var/lib/flask_app-link-target"
VENV_TARGET = "/var/lib/flask_app-venv-target"
PLANTER = "planter"
PLANTER_PORT = 8084
PLANTER_SETUP = f"""import os
import sys

from setuptools import setup

# Build-time code, as the setup.py of any sdist may run: a link in the virtualenv being built
# to a directory that is not the build's.
planted = os.path.join(sys.prefix, "planted")
if not os.path.lexists(planted):
    os.symlink({VENV_TARGET!r}, planted)
setup()
"""
PLANTER_APP = """def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"planted\\n"]
"""
PLANTER_PROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "planter"
version = "1.0"

[tool.setuptools]
py-modules = ["planter"]
"""


@pytest.fixture(scope="module")
def links_host(host: Any) -> Iterator[str]:
    scenario, name = os.environ.get("MOLECULE_SCENARIO_NAME"), host.backend.host
    if (scenario, name[-4:]) not in {("default", "-d13"), ("unix", "-d12")}:
        pytest.skip("the link and secret checks run on default's Debian 13 host and unix's Debian 12 host")
    yield name


def run_as_service(host: Any, command: str) -> Any:
    return host.run(f"runuser -u flask_app -- {command}")


def owner_and_mode(host: Any, path: str) -> str:
    return host.check_output(f"stat -c '%U:%G %a %F' {shlex.quote(path)}")


def planter_service(tmp: Path) -> dict[str, Any]:
    src = tmp / PLANTER
    src.mkdir()
    (src / "pyproject.toml").write_text(PLANTER_PROJECT, encoding="utf-8")
    (src / "setup.py").write_text(PLANTER_SETUP, encoding="utf-8")
    (src / "planter.py").write_text(PLANTER_APP, encoding="utf-8")
    return {"name": PLANTER, "src": str(src), "module": "planter:app", "port": PLANTER_PORT, "health_path": "/"}


def test_root_follows_no_link_of_the_service_and_prints_no_secret(host: Any, links_host: str, tmp_path: Path) -> None:
    secret_env, secret_file = f"env-{uuid.uuid4().hex}", f"file-{uuid.uuid4().hex}"
    app = variant(tmp_path, "linked", "", css="/* test_links */\n")["stack_services"][0]
    static = Path(app["src"]) / "app" / "static"
    (static / ".env.local").write_text("STATIC_ENV_FILE\n", encoding="utf-8")
    (static / "private.txt").write_text("PRIVATE\n", encoding="utf-8")
    (static / "css" / "linked.css").symlink_to("style.css")
    linked = {
        **app,
        "exclude": ["app/static/private.txt"],
        "data_dirs": ["instance", "uploads/images"],
        "secret_env": {"API_TOKEN": secret_env},
        "files": [{"dest": "instance/conf/app.cfg", "content": f"TOKEN = {secret_file!r}\n"}],
    }
    full = os.environ.get("MOLECULE_SCENARIO_NAME") == "default"
    services = [linked, *([planter_service(tmp_path)] if full else [])]
    with host.sudo():
        host.run_test(f"install -d -o root -g root -m 0755 {TARGET} && touch {TARGET}/kept")
        host.run_test(f"install -d -o nobody -g nogroup -m 0700 {VENV_TARGET}")
    try:
        first = playbook("site.yml", links_host, {"stack_services": services}, "-vvv")
        output = first.stdout + first.stderr
        assert first.returncode == 0, first.stdout[-3000:]
        assert secret_env not in output and secret_file not in output

        with host.sudo():
            # The service owns the leaves of its data directories, root everything above them.
            assert owner_and_mode(host, f"{DATA}/uploads") == "root:root 755 directory"
            assert owner_and_mode(host, f"{DATA}/uploads/images") == "flask_app:flask_app 750 directory"
            assert run_as_service(host, f"mv {DATA}/uploads/images {DATA}/uploads/moved").rc != 0
            # The config file is root's, in root's tree; the data directory links to it.
            assert host.file(f"{DATA}/instance/conf").linked_to == f"{CONFIG}/instance/conf"
            assert owner_and_mode(host, f"{CONFIG}/instance/conf/app.cfg") == "root:flask_app 640 regular file"
            assert host.check_output(f"cat {DATA}/instance/conf/app.cfg") == f"TOKEN = {secret_file!r}"
            # Static files: the release's own, a link as its target's content.
            published = f"{STATIC}/flask_app"
            assert not host.file(f"{published}/.env.local").exists
            assert not host.file(f"{published}/private.txt").exists
            assert not host.file(f"{published}/css/linked.css").is_symlink
            assert host.file(f"{published}/css/linked.css").content == host.file(f"{published}/css/style.css").content
            if full:
                # pip's build planted a link; root took the virtualenv without following it.
                venv = host.check_output(f"readlink -f /srv/flask_app/{PLANTER}/current/.venv")
                assert host.file(f"{venv}/planted").linked_to == VENV_TARGET
                assert owner_and_mode(host, f"{venv}/planted") == "root:root 777 symbolic link"
                assert owner_and_mode(host, VENV_TARGET) == "nobody:nogroup 700 directory"

        if full:
            # The service points the link root made for its config file at a directory of root's.
            assert run_as_service(host, f"rm {DATA}/instance/conf").rc == 0
            assert run_as_service(host, f"ln -s {TARGET} {DATA}/instance/conf").rc == 0
            again = playbook("site.yml", links_host, {"stack_services": services})
            assert again.returncode == 0, again.stdout[-3000:]
            with host.sudo():
                assert owner_and_mode(host, TARGET) == "root:root 755 directory"
                assert host.check_output(f"ls -A {TARGET}") == "kept"
                assert host.file(f"{DATA}/instance/conf").linked_to == f"{CONFIG}/instance/conf"
    finally:
        absent = [{"name": PLANTER, "state": "absent", "purge": True}] if full else []
        back = playbook(
            "site.yml", links_host, {"stack_services": [{**DEFAULT_SERVICE, "src": str(PROJECT / "app")}, *absent]}
        )
        with host.sudo():
            host.run(f"rm -rf {TARGET} {VENV_TARGET} {DATA}/instance {DATA}/uploads {CONFIG}")
        assert back.returncode == 0, back.stdout[-3000:]


def test_a_static_link_out_of_the_code_is_refused_before_any_host_changes(
    host: Any, links_host: str, tmp_path: Path
) -> None:
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("a refusal on the controller: once, on the default scenario")
    controller_file = tmp_path / "controller-only.txt"
    controller_file.write_text("CONTROLLER-ONLY\n", encoding="utf-8")
    app = variant(tmp_path, "leaky", "")["stack_services"][0]
    leak = Path(app["src"]) / "app" / "static" / "leak.txt"
    leak.symlink_to(controller_file)
    run = playbook("site.yml", links_host, {"stack_services": [app]})
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"{leak} is a symbolic link to {controller_file}, which is not a file of the release" in output, output[
        -3000:
    ]
    assert "changed=0" in run.stdout, run.stdout[-1500:]
    with host.sudo():
        assert not host.file(f"{STATIC}/flask_app/leak.txt").exists
