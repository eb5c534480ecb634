"""The uwsgi role's probe: a health check over the uwsgi protocol, and the one reader of uWSGI stats."""

from __future__ import annotations

import importlib.util
import json
import socket
import struct
import threading
from pathlib import Path
from types import ModuleType

import pytest

PROBE = Path(__file__).resolve().parent.parent / "files" / "usr" / "local" / "lib" / "flask_app" / "uwsgi_probe.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uwsgi_probe", PROBE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


uwsgi_probe = _load()


def _fake_uwsgi(reply: bytes) -> tuple[socket.socket, list[bytes]]:
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            header = conn.recv(4)
            _, size, _ = struct.unpack("<BHB", header)
            body = b""
            while len(body) < size:
                body += conn.recv(size - len(body))
            seen.append(body)
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return server, seen


def test_probe_speaks_uwsgi_and_reads_the_status() -> None:
    server, seen = _fake_uwsgi(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"release": "r2"}')
    with server:
        code, body = uwsgi_probe.request(f"127.0.0.1:{server.getsockname()[1]}", "/healthz?x=1")
    assert code == 200
    assert body == '{"release": "r2"}'
    assert b"PATH_INFO\x08\x00/healthz" in seen[0]
    assert b"QUERY_STRING\x03\x00x=1" in seen[0]


def test_probe_reports_errors_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = _fake_uwsgi(b"HTTP/1.1 503 Service Unavailable\r\n\r\nbusy")
    with server:
        assert uwsgi_probe.main(["probe", f"127.0.0.1:{server.getsockname()[1]}", "/healthz"]) == 1
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert uwsgi_probe.main(["probe", f"127.0.0.1:{port}", "/healthz"]) == 1
    assert "503 busy" in capsys.readouterr().out


def _stats_server(path: Path, payload: dict[str, object]) -> threading.Thread:
    """A stand-in for uWSGI's stats server: JSON on connect, once per connection."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)

    def serve() -> None:
        with server:
            for _ in range(2):
                conn, _ = server.accept()
                with conn:
                    conn.sendall(json.dumps(payload).encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_chain_reload_is_done_only_when_every_worker_is_new_and_accepting(tmp_path: Path) -> None:
    stats = tmp_path / "stats.sock"
    _stats_server(
        stats, {"workers": [{"pid": 11, "accepting": 1}, {"pid": 2, "accepting": 1}, {"pid": 12, "accepting": 0}]}
    )
    assert uwsgi_probe.old_workers_left(str(stats), {1, 2}) == [2, 12]
    assert uwsgi_probe.old_workers_left(str(stats), {1, 3}) == [12]


def test_without_a_stats_server_there_is_nothing_to_wait_for(tmp_path: Path) -> None:
    assert uwsgi_probe.old_workers_left(str(tmp_path / "none.sock"), {1}) == []
    assert uwsgi_probe.workers(str(tmp_path / "none.sock")) is None


def test_stats_json_prints_the_whole_document_for_the_status_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = tmp_path / "stats.sock"
    payload = {"listen_queue": 0, "workers": [{"pid": 11, "status": "idle", "requests": 3}]}
    _stats_server(stats, payload)
    assert uwsgi_probe.main(["probe", "--stats-json", str(stats)]) == 0
    assert json.loads(capsys.readouterr().out) == payload
    assert uwsgi_probe.main(["probe", "--stats-json", str(tmp_path / "none.sock")]) == 1
    assert json.loads(capsys.readouterr().out) is None


def test_bound_address_reads_every_socket_shape(tmp_path: Path) -> None:
    for name, expected in (
        ("/run/flask_app/uwsgi.sock", "/run/flask_app/uwsgi.sock"),
        (":8080", "127.0.0.1:8080"),
        ("0.0.0.0:8081", "127.0.0.1:8081"),
        ("10.0.0.11:8080", "10.0.0.11:8080"),
    ):
        stats = tmp_path / f"{expected.replace('/', '_')}.sock"
        _stats_server(stats, {"sockets": [{"name": name, "proto": "uwsgi"}]})
        assert uwsgi_probe.bound_address(str(stats)) == expected
    assert uwsgi_probe.bound_address(str(tmp_path / "none.sock")) is None


def test_probe_follows_the_socket_the_running_master_is_bound_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A socket change waits for the uWSGI restart: until then the live service is on the old
    socket, and the probe says so (the uwsgi role restarts on that line)."""
    server, _ = _fake_uwsgi(b"HTTP/1.1 200 OK\r\n\r\nok")
    stats = tmp_path / "stats.sock"
    live = f"127.0.0.1:{server.getsockname()[1]}"
    _stats_server(stats, {"sockets": [{"name": live, "proto": "uwsgi"}], "workers": []})
    with server:
        # The configured address (a unix socket not yet bound) is not where the service is.
        assert uwsgi_probe.main(["probe", "/run/x/uwsgi.sock", "/healthz", f"--stats={stats}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{uwsgi_probe.MOVED}: {live} is live, /run/x/uwsgi.sock is configured")
    assert "200 ok" in out


@pytest.mark.parametrize(
    ("reply", "healthy"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\nok", True),  # plain text: the app need not report its release
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),  # any 2xx
        (b'HTTP/1.1 200 OK\r\n\r\n{"status": "ok"}', True),  # JSON without a release
        (b'HTTP/1.1 200 OK\r\n\r\n{"release": "r2"}', True),
        (b'HTTP/1.1 200 OK\r\n\r\n{"release": "r1"}', False),  # the old release answered
        (b"HTTP/1.1 302 Found\r\n\r\n", False),
    ],
)
def test_live_health_is_2xx_and_the_right_release_when_one_is_reported(
    reply: bytes, healthy: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = _fake_uwsgi(reply)
    with server:
        code = uwsgi_probe.main(["probe", f"127.0.0.1:{server.getsockname()[1]}", "/healthz", "--release=r2"])
    assert code == (0 if healthy else 1), capsys.readouterr().out
