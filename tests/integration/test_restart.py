"""Crash restart: kill -9, crash loops, the restart cap."""
import os
import signal


def test_kill_9_brings_a_new_instance_serving(supervisor):
    s = supervisor()
    pid, after = s.started_pid()
    s.wait_serving(expect_pid=pid)
    os.kill(pid, signal.SIGKILL)
    s.wait_log(r"killed by SIGKILL; restarting in", start=after)
    new_pid, _ = s.started_pid(start=after)
    assert new_pid != pid
    s.wait_serving(expect_pid=new_pid)
    st = s.status()
    assert st["state"] == "ready"
    assert st["pid"] == new_pid
    assert st["restart_count"] == 1
    assert st["last_exit"] == {"signal": 9, "description": "killed by SIGKILL"}


def test_crash_loop_ends_in_failed_after_the_cap(supervisor):
    s = supervisor(app={"env": {"FIXTURE_CRASH_AT_START": "3"}},
                   restart={"max_restarts": 3, "restart_window": "1m"})
    s.wait_log(r"app failed, not restarting: .*exit code 3 after 3 restarts within 1m")
    st = s.status()
    assert st["state"] == "failed"
    assert st["pid"] is None
    assert st["restart_count"] == 3
    assert st["last_exit"]["code"] == 3
    assert "max_restarts = 3" in st["reason"]
    assert len([l for l in s.lines if "started, pid" in l]) == 4
    human = s.cli("status", "--config", str(s.config))
    assert human.returncode == 0
    assert "state:       failed" in human.stdout
    assert "exit code 3" in human.stdout


def test_clean_exit_under_on_failure_is_not_restarted(supervisor):
    s = supervisor(app={"command": ["/bin/true"]})
    s.wait_log(r"exit code 0 \(a clean exit\); \[restart\] policy is on-failure")
    assert s.status()["state"] == "stopped"


def test_crash_after_a_while_restarts_with_backoff(supervisor):
    s = supervisor(app={"env": {"FIXTURE_CRASH_AFTER": "200ms", "FIXTURE_CRASH_CODE": "7"}},
                   restart={"max_restarts": 100})
    s.wait_log(r"exit code 7; restarting in 20ms \(restart 1\)")
    s.wait_log(r"exit code 7; restarting in 40ms \(restart 2\)")
