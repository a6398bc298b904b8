"""Graceful stop: the whole group, SIGKILL after stop_timeout, no zombie, exit 0."""
import signal
import time

from harness import pid_alive, wait_pid_gone


def grandchild_pid(s):
    pid_file = s.data_dir / "fixture-grandchild.pid"
    s.wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="grandchild pid file")
    return int(pid_file.read_text())


def test_sigterm_stops_app_and_grandchild_then_exits_0(supervisor):
    s = supervisor(app={"env": {"FIXTURE_SPAWN_GRANDCHILD": "1"}, "stop_timeout": "2s"})
    pid, _ = s.started_pid()
    grandchild = grandchild_pid(s)
    assert pid_alive(grandchild)
    began = time.monotonic()
    s.signal(signal.SIGTERM)
    assert s.wait_exit(timeout=2 + 1) == 0
    assert time.monotonic() - began < 2 + 1
    assert wait_pid_gone(pid, 1), "app still there"
    assert wait_pid_gone(grandchild, 1), "grandchild still there"
    assert "stopped on request (exit code 0)" in s.log()


def test_sigint_stops_too(supervisor):
    s = supervisor()
    pid, _ = s.started_pid()
    s.signal(signal.SIGINT)
    assert s.wait_exit(timeout=5) == 0
    assert wait_pid_gone(pid, 1)


def test_app_ignoring_sigterm_is_killed_after_stop_timeout(supervisor):
    s = supervisor(app={"env": {"FIXTURE_IGNORE_SIGTERM": "1", "FIXTURE_SPAWN_GRANDCHILD": "1"},
                        "stop_timeout": "1s"})
    pid, _ = s.started_pid()
    grandchild = grandchild_pid(s)
    s.wait_serving(expect_pid=pid)
    began = time.monotonic()
    s.signal(signal.SIGTERM)
    assert s.wait_exit(timeout=1 + 2) == 0
    elapsed = time.monotonic() - began
    assert 1.0 <= elapsed < 1 + 1, elapsed
    assert "sent SIGKILL to the process group" in s.log()
    assert "stopped on request (killed by SIGKILL)" in s.log()
    assert wait_pid_gone(pid, 1)
    assert wait_pid_gone(grandchild, 1)


def test_grandchild_left_by_a_crash_is_stopped_before_the_restart(supervisor):
    s = supervisor(app={"env": {"FIXTURE_SPAWN_GRANDCHILD": "1", "FIXTURE_CRASH_AFTER": "300ms"}},
                   restart={"max_restarts": 1})
    first, after = s.started_pid()
    grandchild = grandchild_pid(s)
    s.wait_log(r"stopping what is left of its process group", start=after)
    second, _ = s.started_pid(start=after)
    assert not pid_alive(grandchild), "the old grandchild outlived its instance into the restart"
    assert second != first
