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
