"""An ordinary Flask app of the user's, deployed from git by following docs/your-app.md.

The app (molecule/common/files/notes) is written as apps are in the wild: an application
factory, a pyproject.toml and no requirements.txt, SQLite in its instance folder through
Flask-SQLAlchemy, its schema in Flask-Migrate's migrations/ (as `flask db init` and `flask db
migrate` made them) applied by the release command docs/your-app.md gives, `flask --app notes
db upgrade`, a form that writes rows, a session login, no health endpoint of its own, and a
`.env` of the developer's. Not one line of it
knows about the kit. Runs last, on the Debian 13 host of the default scenario (packages
from the index, TCP, HTTPS with a provided certificate, the current controller): it replaces its routes. The unix
scenario's retention test builds a pyproject project offline and serves it over HTTPS
through its unix socket.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import DEFAULT_SERVICE, PROJECT, playbook, record

FIXTURE = PROJECT / "molecule" / "common" / "files" / "notes"
SERVICE_DIR = "/srv/flask_app/notes"


# Where this test runs, and the modes it converges there (plugins/tests/test_mode_coverage.py).
CONVERGES = ("default", "-d13", ["source:git", "source:artifact", "install:pyproject"])


@pytest.fixture(scope="module")
def app_host(host: Any) -> Iterator[str]:
    scenario, suffix, _ = CONVERGES
    if os.environ.get("MOLECULE_SCENARIO_NAME") != scenario or not host.backend.host.endswith(suffix):
        pytest.skip(f"your own app is deployed to the {suffix} host of the {scenario} scenario")
    yield host.backend.host


def git(repo: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env={**os.environ, **identity}
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's repository: the app as they committed it, .env included."""
    path = tmp_path_factory.mktemp("user") / "notes"
    shutil.copytree(FIXTURE, path)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message=notes 1.0")
    return path


# The recipe of docs/your-app.md, as it is written there.
MIGRATE = "flask --app notes db upgrade"
# The fixture's migration, as `flask db migrate -m "notes table"` named it.
[FIRST_MIGRATION] = (FIXTURE / "migrations" / "versions").glob("*_notes_table.py")
FIRST_REVISION = FIRST_MIGRATION.name.split("_")[0]
# A second migration, as the developer writes one (`flask db revision`, then its body).
SECOND_MIGRATION = '''"""index on note.body

Revision ID: 5c0a1d2e3f40
Revises: {down}
"""
from alembic import op

revision = "5c0a1d2e3f40"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_note_body", "note", ["body"])


def downgrade():
    op.drop_index("ix_note_body", table_name="note")
'''


def inventory(repo: Path, release_command: str = MIGRATE) -> dict[str, Any]:
    """What docs/your-app.md tells the user to write, next to the service the host already runs
    (its static files stay routed; the app's pages go to notes)."""
    return {
        "stack_services": [
            {**DEFAULT_SERVICE, "src": str(PROJECT / "app")},
            {
                "name": "notes",
                "git": {"repo": str(repo), "version": "main"},
                "module": "notes:create_app()",
                "port": 8081,
                # The app has no health endpoint: its home page will do (it reads the
                # database, which the release command migrates before the first check).
                "health_path": "/",
                "release_command": release_command,
                "data_dirs": ["instance"],
                "files": [{"dest": "instance/config.py", "content": "GREETING = 'hello from config.py'\n"}],
            },
        ],
        "stack_routes": [
            {"path": "/static/", "service": "flask_app", "type": "static"},
            {"path": "/", "service": "notes"},
        ],
    }


def flat(output: str) -> str:
    """A playbook's output with every run of whitespace one space: the callback folds long lines."""
    return " ".join(output.split())


def live_release(host: Any, service_dir: str = SERVICE_DIR) -> str:
    return Path(host.file(f"{service_dir}/current").linked_to).name


def test_an_ordinary_flask_app_from_git_deploys_and_keeps_its_data(
    host: Any, app_host: str, base_url: str, tls_verify: bool | str, repo: Path
) -> None:
    site = playbook("site.yml", app_host, inventory(repo))
    assert site.returncode == 0, site.stdout[-3000:]
    first = git(repo, "rev-parse", "HEAD")[:12]
    assert live_release(host) == first
    # The release command (Flask-Migrate, unmodified) found the migrations of the new release
    # and made the database in the data directory before the release went live.
    assert f"Running upgrade -> {FIRST_REVISION}, notes table" in flat(site.stdout), site.stdout[-3000:]
    with host.sudo():
        database = host.file(f"{SERVICE_DIR}/data/instance/notes.sqlite")
        assert database.exists and database.user == "notes"

    # A one-off command, in the live release: Flask-Migrate finds its migrations there too.
    current = playbook(
        "run.yml", app_host, {**inventory(repo), "service": "notes", "cmd": "flask --app notes db current"}
    )
    assert current.returncode == 0, current.stdout[-3000:]
    assert f"{FIRST_REVISION} (head)" in flat(current.stdout), current.stdout[-3000:]

    browser = requests.Session()
    browser.trust_env = False
    browser.verify = tls_verify
    rows = [*browser.get(f"{base_url}/", timeout=10).json()["notes"], "a row written over HTTP"]
    assert browser.post(f"{base_url}/add", data={"body": rows[-1]}, timeout=10).ok
    assert browser.post(f"{base_url}/login", data={"user": "ada"}, timeout=10).text == "logged in"
    page = browser.get(f"{base_url}/", timeout=10).json()
    assert page == {"notes": rows, "greeting": "hello from config.py"}

    # A new commit with a migration of its own: a new release, migrated before it goes live;
    # rows and the logged-in session survive it.
    second = repo / "migrations" / "versions" / "5c0a1d2e3f40_index_on_note_body.py"
    second.write_text(SECOND_MIGRATION.format(down=FIRST_REVISION), encoding="utf-8")
    views = repo / "notes" / "views.py"
    views.write_text(views.read_text(encoding="utf-8") + "\n# 1.1: a code change\n", encoding="utf-8")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message=notes 1.1")
    deployed = playbook("deploy.yml", app_host, inventory(repo))
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    assert f"Running upgrade {FIRST_REVISION} -> 5c0a1d2e3f40, index on note.body" in flat(deployed.stdout)
    assert live_release(host) == git(repo, "rev-parse", "HEAD")[:12]
    read_schema = (
        f"import sqlite3; database = sqlite3.connect('file:{SERVICE_DIR}/data/instance/notes.sqlite?mode=ro', uri=True)"
        "; print(database.execute('SELECT version_num FROM alembic_version').fetchone()[0])"
    )
    with host.sudo():
        assert host.check_output(f"python3 -c {shlex.quote(read_schema)}") == "5c0a1d2e3f40"
    assert browser.get(f"{base_url}/", timeout=10).json()["notes"] == rows
    assert browser.get(f"{base_url}/whoami", timeout=10).text == "ada"

    # A release command that fails stops the deploy before anything switches.
    views.write_text(views.read_text(encoding="utf-8") + "\n# 1.2: never goes live\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message=notes 1.2")
    refused = playbook("deploy.yml", app_host, inventory(repo, "flask --app notes no-such-command"))
    assert refused.returncode != 0
    assert "No such command 'no-such-command'" in refused.stdout + refused.stderr
    assert live_release(host) != git(repo, "rev-parse", "HEAD")[:12]
    assert browser.get(f"{base_url}/whoami", timeout=10).text == "ada"
    git(repo, "reset", "--quiet", "--hard", "HEAD~1")

    # The same commit again is the same release: nothing changes.
    again = playbook("deploy.yml", app_host, inventory(repo))
    assert again.returncode == 0, again.stdout[-3000:]
    recap = re.search(rf"{re.escape(app_host)}\s*:\s*ok=\d+\s+changed=(\d+)", again.stdout)
    assert recap and recap.group(1) == "0", again.stdout[-3000:]

    # Back to the first release, for this service only: the rows stay, the other service
    # keeps its release.
    other = live_release(host, "/srv/flask_app/flask_app")
    rolled_back = playbook("rollback.yml", app_host, {**inventory(repo), "service": "notes", "release": first})
    assert rolled_back.returncode == 0, rolled_back.stdout[-3000:]
    assert live_release(host) == first
    assert browser.get(f"{base_url}/", timeout=10).json()["notes"] == rows
    assert live_release(host, "/srv/flask_app/flask_app") == other
    # status.yml lists the kept releases, with their dates, and which is live.
    report = playbook("status.yml", app_host, inventory(repo))
    assert report.returncode == 0, report.stdout[-3000:]
    assert re.search(rf"releases \(newest first\): .*{first} [0-9-]+ [0-9:]+ \(live\)", flat(report.stdout)), (
        report.stdout
    )

    # The same app as a wheel built by the user's CI: installed with its dependencies; Flask
    # finds its instance folder in the virtualenv, which is the same data. The wheel carries
    # no migrations/ (docs/your-app.md): no release command.
    wheels = repo.parent / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(repo)],
        check=True,
    )
    [wheel] = wheels.glob("notes-*.whl")
    as_artifact = inventory(repo)
    as_artifact["stack_services"][1] = {
        key: value for key, value in as_artifact["stack_services"][1].items() if key not in ("git", "release_command")
    } | {"artifact": str(wheel)}
    installed = playbook("deploy.yml", app_host, {**as_artifact, "service": "notes"})
    assert installed.returncode == 0, installed.stdout[-3000:]
    with host.sudo():  # <virtualenv>/var/<package>-instance
        instance = host.check_output(f"readlink -f {SERVICE_DIR}/current/.venv/var/notes-instance")
    assert instance == f"{SERVICE_DIR}/data/instance"
    assert browser.get(f"{base_url}/", timeout=10).json() == {"notes": rows, "greeting": "hello from config.py"}

    # Nothing of git or of the developer's .env reached the host.
    with host.sudo():
        leaked = host.run(f"find {SERVICE_DIR} /var/www/flask_app -name .git -o -name '.env*'").stdout
    assert leaked == ""

    report = host.check_output("systemd-analyze security --no-pager uwsgi-notes.service")
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", report).group(1))
    record(f"{app_host}: your own app (notes, from git, data_dirs): exposure {exposure}")
    assert exposure <= 2.0, report
