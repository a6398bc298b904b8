"""The app outlives a supervisor that dies, and no second app is started next to it."""
import os
import signal

from harness import pid_alive, wait_pid_gone


def test_app_survives_supervisor_sigkill_and_blocks_a_second_app(supervisor):
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
    assert second.wait_exit() == 1
    assert f"(pid {pid}), started by an earlier supervisor that did not stop it, is still running" in second.log()
    assert f"kill -TERM -{pid}" in second.log()
    assert pid_alive(pid)

    os.killpg(pid, signal.SIGTERM)
    assert wait_pid_gone(pid, 5)
    third = supervisor(start=False)
    third.config.write_text(first.config.read_text())
    third.data_dir, third.port = first.data_dir, first.port
    third.start()
    new_pid, _ = third.started_pid()
    third.wait_serving(expect_pid=new_pid)


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
