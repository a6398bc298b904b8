"""systemd Type=notify: READY=1 once the app runs, STOPPING=1 at shutdown."""
import signal
import socket


def test_notify_socket_gets_ready_and_stopping(supervisor, tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        s = supervisor(env={"NOTIFY_SOCKET": path})
        assert sock.recv(4096) == b"READY=1"
        pid, _ = s.started_pid()
        s.signal(signal.SIGHUP)
        assert sock.recv(4096) == b"RELOADING=1"
        assert sock.recv(4096) == b"READY=1"
        s.signal(signal.SIGTERM)
        assert sock.recv(4096) == b"STOPPING=1"
        assert s.wait_exit() == 0


def test_ready_is_sent_only_once_the_app_is_ready(supervisor, tmp_path):
    from harness import http_get
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        s = supervisor(env={"NOTIFY_SOCKET": path, "FIXTURE_SLOW_START": "300ms"},
                       extra={"health": {"readiness": "http", "verification": "none", "interval": "20ms"}})
        assert sock.recv(4096) == b"READY=1"
        # READY=1 means the probe passed: the app answers now, with no retry.
        status, _ = http_get(s.port, "/api/setup/status")
        assert status == 200
        assert s.wait_log(r"instance \S+ ready")


def test_no_ready_while_the_app_is_not_ready(supervisor, tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        s = supervisor(env={"NOTIFY_SOCKET": path, "FIXTURE_NEVER_READY": "1"}, restart={"max_restarts": 0},
                       extra={"health": {"readiness": "http", "verification": "none", "interval": "20ms",
                                         "timeout": "200ms"}})
        s.wait_log(r"app failed, not restarting: .*not ready after 200ms")
        sock.setblocking(False)
        try:
            got = sock.recv(4096)
        except BlockingIOError:
            got = None
        assert got is None, got
