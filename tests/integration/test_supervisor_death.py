"""The app outlives a supervisor that dies; the next supervisor takes it over instead
of starting a second app next to it."""
import os
import signal

from harness import pid_alive, wait_pid_gone


def test_app_survives_supervisor_sigkill_and_is_adopted_by_the_next(supervisor):
    first = supervisor()
    pid, _ = first.started_pid()
    first.wait_serving(expect_pid=pid)
    first.signal(signal.SIGKILL)
    first.wait_exit()

    # The app is in its own session with its own log helper: still serving, still logging.
    assert pid_alive(pid)
    info = first.wait_serving(expect_pid=pid)
    assert info["data_dir"] == str(first.data_dir)

    second = supervisor(start=False)
    second.config.write_text(first.config.read_text())
    second.data_dir, second.port = first.data_dir, first.port
    second.start()
    second.wait_log(rf"kept instance \S+ \(pid {pid}\) serving")
    second.wait_log(rf"instance \S+ ready \(pid {pid}\)")
    st = second.status()
    assert st["pid"] == pid and st["state"] == "ready"
    assert "started, pid" not in second.log()  # no second app

    # Adopted means supervised: its death is noticed (on a pidfd) and it is restarted.
    os.killpg(pid, signal.SIGKILL)
    new_pid, _ = second.started_pid()
    assert new_pid != pid
    second.wait_serving(expect_pid=new_pid)
    assert wait_pid_gone(pid, 5)


def test_a_stale_record_of_a_dead_app_does_not_block(supervisor):
    first = supervisor()
    pid, _ = first.started_pid()
    first.signal(signal.SIGKILL)
    first.wait_exit()
    os.killpg(pid, signal.SIGKILL)
    assert wait_pid_gone(pid, 5)
    assert (first.data_dir / ".supervisor" / "current.json").exists()
    second = supervisor(start=False)
    second.config.write_text(first.config.read_text())
    second.data_dir, second.port = first.data_dir, first.port
    second.start()
    second.started_pid()


def test_an_instance_without_a_record_is_found_and_stopped(supervisor):
    """A supervisor killed between spawning an instance and recording it leaves one
    nobody knows about: found by its environment and stopped, never left beside."""
    import subprocess
    from harness import FIXTURE, free_port
    s = supervisor(start=False)
    s.data_dir.mkdir(parents=True)
    orphan = subprocess.Popen([str(FIXTURE)], cwd=s.data_dir, start_new_session=True, stdout=subprocess.DEVNULL,
                              env={"AGENTRON_DATA_DIR": str(s.data_dir), "AGENTRON_INSTANCE_ID": "lost-1",
                                   "PORT": str(free_port()), "HOSTNAME": "127.0.0.1"})
    try:
        s.start()
        s.wait_log(rf"stopping the unrecorded instance lost-1 \(pid {orphan.pid}\)")
        assert orphan.wait(timeout=10) == 0  # stopped gracefully (SIGTERM)
        new_pid, _ = s.started_pid()
        s.wait_serving(expect_pid=new_pid)
    finally:
        if orphan.poll() is None:
            orphan.kill()
