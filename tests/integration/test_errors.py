"""Bad input: clear errors that say what to do, and nothing changed."""
import os
import stat
import subprocess

from harness import SUPERVISOR, write_config


def test_missing_binary_is_named_with_the_errno_text(supervisor):
    s = supervisor(app={"command": ["/nonexistent/agentron-server", "--flag"]}, restart={"max_restarts": 1})
    s.wait_log(r"start failed: cannot execute '/nonexistent/agentron-server': No such file or directory")
    s.wait_log(r"app failed, not restarting")
    st = s.status()
    assert st["state"] == "failed"
    assert "cannot execute '/nonexistent/agentron-server': No such file or directory" in st["reason"]


def test_missing_working_dir_is_named(supervisor):
    s = supervisor(app={"working_dir": "/nonexistent/dir"}, restart={"max_restarts": 0})
    s.wait_log(r"cannot enter working directory '/nonexistent/dir': No such file or directory")


def test_broken_config_names_file_line_column_and_exits_non_zero(tmp_path):
    config = tmp_path / "broken.toml"
    config.write_text('[app]\ndata_dir = "/tmp/x"\ncommand = ["x"]\nstop_timout = "5s"\n')
    for args in (["run"], ["config", "check"]):
        r = subprocess.run([str(SUPERVISOR), *args, "--config", str(config)], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2, args
        assert f"{config}:4:1: unknown key 'stop_timout' in [app]; did you mean 'stop_timeout'?" in r.stderr
        assert "nothing was started or changed" in r.stderr
    assert not os.path.exists("/tmp/x/.supervisor")


def test_config_check_prints_the_effective_config(tmp_path):
    config = tmp_path / "ok.toml"
    write_config(config, {"app": {"data_dir": "data", "command": ["node", "server.js"]}})
    r = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(config)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert f'data_dir       = "{tmp_path}/data"' in r.stdout
    assert 'stop_timeout   = "10s"' in r.stdout
    assert 'policy          = "on-failure"' in r.stdout


def test_second_supervisor_on_the_same_data_dir_is_refused(supervisor):
    first = supervisor()
    pid, _ = first.started_pid()
    second = supervisor(start=False)
    second.config.write_text(first.config.read_text())
    second.start()
    assert second.wait_exit(timeout=10) == 1
    second.wait_log(rf"another agentron-supervisor \(pid {first.proc.pid}\) already supervises data dir "
                    rf"{first.data_dir}")
    assert first.status()["pid"] == pid  # the first one is untouched


def test_a_second_supervisor_with_another_state_dir_on_the_same_data_dir_is_refused(supervisor):
    first = supervisor()
    pid, _ = first.started_pid()
    second = supervisor(start=False)
    other_state = second.tmp / "other-state"
    second.config.write_text(first.config.read_text().replace(
        "[app]\n", f"[app]\nstate_dir = \"{other_state}\"\n", 1))
    second.start()
    assert second.wait_exit(timeout=10) == 1
    second.wait_log(rf"another agentron-supervisor \(pid {first.proc.pid}\) already supervises data dir "
                    rf"{first.data_dir}")
    assert first.status()["pid"] == pid


def test_a_lock_the_app_holds_on_its_data_dir_does_not_keep_the_supervisor_out(supervisor):
    """The app outlives a killed supervisor by design; an flock it takes on its own data
    dir must not lock every later supervisor out (red team, finding 5)."""
    import fcntl
    s = supervisor(start=False)
    s.data_dir.mkdir(parents=True)
    held = os.open(s.data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        s.start()
        pid, _ = s.started_pid()
        assert s.status()["pid"] == pid
    finally:
        os.close(held)


def test_status_without_a_supervisor_says_so(tmp_path):
    config = tmp_path / "c.toml"
    write_config(config, {"app": {"data_dir": str(tmp_path / "d"), "command": ["x"]}})
    r = subprocess.run([str(SUPERVISOR), "status", "--config", str(config)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 3
    assert "no agentron-supervisor is running here" in r.stderr


def test_control_socket_and_state_dir_are_private(supervisor):
    s = supervisor()
    s.started_pid()
    state = s.data_dir / ".supervisor"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "control.sock").st_mode) == 0o600


def test_a_data_dir_deeper_than_a_socket_path_still_has_a_control_socket(supervisor):
    s = supervisor(start=False)
    deep = s.tmp / ("d" * 60) / ("e" * 60)
    s.config.write_text(s.config.read_text().replace(str(s.data_dir), str(deep)))
    s.data_dir = deep
    s.start()
    pid, _ = s.started_pid()
    assert len(str(deep / ".supervisor" / "control.sock")) > 108
    assert s.status()["pid"] == pid
