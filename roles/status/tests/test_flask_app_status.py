"""The status module's log parsing and stats reading, without a host."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "library"))

import flask_app_status as status

# The uwsgi role's probe, as installed on app hosts: the one reader of uWSGI stats.
PROBE = str(
    Path(__file__).resolve().parents[2] / "uwsgi" / "files" / "usr" / "local" / "lib" / "flask_app" / "uwsgi_probe.py"
)


def _now(fmt: str) -> str:
    return datetime.now(UTC).strftime(fmt)


def test_main_and_json_lines_are_parsed(tmp_path: Path) -> None:
    old = (datetime.now(UTC) - timedelta(hours=2)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    now = _now("%d/%b/%Y:%H:%M:%S +0000")
    log = tmp_path / "access.log"
    log.write_text(
        f'10.0.0.1 - - [{old}] "GET / HTTP/1.1" 502 10 "-" "x" rt=0.1 urt=0.1 ua=a us=502 rid=1\n'
        f'10.0.0.1 - - [{now}] "GET / HTTP/1.1" 200 10 "-" "x" rt=0.1 urt=0.1 ua=a us=200 rid=2\n'
        f'10.0.0.1 - - [{now}] "GET /x HTTP/1.1" 503 10 "-" "x" rt=0.1 urt=0.1 ua=a us=503 rid=3\n'
        + json.dumps({"time": datetime.now(UTC).isoformat(), "status": 500})
        + "\nnot a log line\n",
        encoding="utf-8",
    )
    assert status.recent_requests(str(log), 15) == {"requests": 3, "errors_5xx": 2}


def test_missing_log_counts_nothing(tmp_path: Path) -> None:
    assert status.recent_requests(str(tmp_path / "none.log"), 15) == {"requests": 0, "errors_5xx": 0}


def test_stats_socket_is_read_to_the_end(tmp_path: Path) -> None:
    path = str(tmp_path / "stats.sock")
    payload = {"workers": [{"status": "idle", "requests": 3}, {"status": "busy", "requests": 4}]}
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        conn.sendall(json.dumps(payload).encode())
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    report = status.service_report(
        {"name": "svc", "unit": "uwsgi-svc-that-does-not-exist", **paths(tmp_path), "stats_socket": path}, PROBE
    )
    thread.join(5)
    server.close()
    assert report["busy"] == 1 and report["idle"] == 1 and report["requests"] == 7
    assert report["requests_per_worker"] == [3, 4]
    assert report["release"] is None


def paths(service_dir: Path) -> dict[str, str]:
    """The paths of a resolved service in service_dir (plugins/filter/releases.py, host_paths)."""
    return {
        "dir": str(service_dir),
        "releases_path": str(service_dir / "releases"),
        "current_path": str(service_dir / "current"),
        "previous_path": str(service_dir / "previous"),
    }


def test_unanswered_stats_socket_is_reported_as_such(tmp_path: Path) -> None:
    report = status.service_report(
        {"name": "svc", "unit": "uwsgi-svc", **paths(tmp_path), "stats_socket": str(tmp_path / "none.sock")}, PROBE
    )
    assert report["stats"] is False


def test_a_host_without_the_probe_reports_no_stats(tmp_path: Path) -> None:
    # status.yml on a host the uwsgi role never reached: no probe, so no stats, and no crash.
    assert status.read_stats(str(tmp_path / "stats.sock"), str(tmp_path / "no_probe.py")) is None


def test_worker_memory_is_read_from_proc_without_memory_report() -> None:
    # uWSGI reports rss 0 unless memory-report is on; the live process is asked instead.
    assert status.worker_rss({"pid": os.getpid(), "rss": 0}) > 1048576
    assert status.worker_rss({"pid": 0, "rss": 4096}) == 4096


def test_kept_releases_are_listed_newest_first_with_the_live_and_previous_one(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    for age, name in enumerate(["r3", "r2", "r1"]):
        (releases / name).mkdir(parents=True)
        os.utime(releases / name, (1_800_000_000 - age * 3600, 1_800_000_000 - age * 3600))
    (tmp_path / "current").symlink_to(releases / "r2")
    (tmp_path / "previous").symlink_to(releases / "r1")
    kept = status.kept_releases(paths(tmp_path))
    assert [(k["id"], k["role"]) for k in kept] == [("r3", ""), ("r2", "live"), ("r1", "previous")]
    assert kept[0]["date"] == "2027-01-15 08:00"
    assert status.kept_releases(paths(tmp_path / "none")) == []


def test_services_in_maintenance_are_those_whose_state_is_on(tmp_path: Path) -> None:
    (tmp_path / "shop.conf").write_text("# Ansible managed\n# maintenance: on\nerror_page 503 /x;\n", encoding="utf-8")
    (tmp_path / "api.conf").write_text("# Ansible managed\n# maintenance: off\n", encoding="utf-8")
    (tmp_path / "blog.conf").write_text("# maintenance: on\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("# maintenance: on\n", encoding="utf-8")
    assert status.services_in_maintenance(str(tmp_path)) == ["blog", "shop"]


def test_no_maintenance_directory_is_no_service_in_maintenance(tmp_path: Path) -> None:
    assert status.services_in_maintenance(str(tmp_path / "none")) == []


def _validity(monkeypatch: pytest.MonkeyPatch, days_before: float, days_after: float) -> None:
    now = datetime.now(UTC)
    dates = {"notBefore": now - timedelta(days=days_before), "notAfter": now + timedelta(days=days_after)}
    monkeypatch.setattr(status, "certificate_validity", lambda path: dates)


def test_a_certificate_in_the_last_sixth_of_its_lifetime_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    problems: list[str] = []
    _validity(monkeypatch, 30, 60)
    assert status.certificate_report("/etc/nginx/tls/site.crt", problems)["days_left"] in (59, 60)
    assert problems == []
    _validity(monkeypatch, 80, 10)
    status.certificate_report("/etc/nginx/tls/site.crt", problems)
    assert problems == [problems[0]] and problems[0].startswith("the certificate /etc/nginx/tls/site.crt expires")
    assert "inside the last sixth of its 90-day lifetime" in problems[0]


def test_an_unreadable_certificate_is_a_problem(tmp_path: Path) -> None:
    problems: list[str] = []
    assert status.certificate_report(str(tmp_path / "none.crt"), problems) == {"path": str(tmp_path / "none.crt")}
    assert problems == [f"the certificate {tmp_path / 'none.crt'} cannot be read"]


def test_a_failed_acme_renewal_is_a_problem_and_none_yet_a_warning(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    problems: list[str] = []
    warnings: list[str] = []
    assert status.acme_report(str(state), "site.crt", problems, warnings) == {}
    assert problems == [] and warnings == [f"no ACME renewal recorded yet ({state})"]
    attempt = {"time": "2026-12-07T21:30:06Z", "result": "ok", "message": "serial 1A"}
    state.write_text(json.dumps({"last_attempt": attempt}), encoding="utf-8")
    assert status.acme_report(str(state), "site.crt", problems, warnings)["result"] == "ok"
    assert problems == []
    state.write_text(
        json.dumps({"last_attempt": {**attempt, "result": "failed", "message": "no CA"}}), encoding="utf-8"
    )
    status.acme_report(str(state), "site.crt", problems, warnings)
    assert problems == ["the last ACME renewal of the certificate site.crt failed at 2026-12-07T21:30:06Z: no CA"]
