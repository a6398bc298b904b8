"""[app] user: the supervisor, started as root, runs the app as another user through
agentron-exec — every instance, with that user's groups — and says plainly when it
cannot (an unknown user, a program that user may not run, a supervisor not root)."""
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import FIXTURE, SUPERVISOR, Supervisor, write_config

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def open_tmp():
    """A folder the app's user can reach (pytest's tmp_path is 0700 root's), holding a
    copy of the fixture (the build tree may be under a folder nobody can enter)."""
    path = Path(tempfile.mkdtemp(prefix="agentron-run-as-"))
    path.chmod(0o755)
    shutil.copy2(FIXTURE, path / "agentron-fixture")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def uid_of(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def test_the_app_runs_as_the_configured_user_on_a_data_dir_it_owns(open_tmp):
    s = Supervisor(open_tmp / "s", app={"user": "nobody", "command": [str(open_tmp / "agentron-fixture")],
                                        "state_dir": str(open_tmp / "state")})
    (open_tmp / "s").chmod(0o755)
    try:
        s.start()
        pid, _ = s.started_pid()
        info = s.wait_serving(expect_pid=pid)
        assert uid_of(pid) == [NOBODY.pw_uid] * 4  # real, effective, saved, filesystem
        assert info["agents"] >= 0  # it opened and wrote its database as that user
        st = os.stat(s.data_dir)
        assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)  # created by the supervisor, given to it
        assert os.stat(s.data_dir / "agentron.sqlite").st_uid == NOBODY.pw_uid
        # A crash restart goes through the same drop.
        os.kill(pid, 9)
        new_pid, _ = s.started_pid(start=len(s.lines))
        s.wait_serving(expect_pid=new_pid)
        assert uid_of(new_pid)[0] == NOBODY.pw_uid
    finally:
        s.close()
        s.kill_leftover_app()


def test_a_program_the_user_may_not_run_is_named_with_the_reason(open_tmp):
    private = open_tmp / "private"
    private.mkdir(mode=0o700)  # root's: nobody cannot enter it
    shutil.copy2(FIXTURE, private / "app")
    s = Supervisor(open_tmp / "s", app={"user": "nobody", "command": [str(private / "app")],
                                        "state_dir": str(open_tmp / "state")},
                   restart={"max_restarts": 0})
    (open_tmp / "s").chmod(0o755)
    try:
        s.start()
        s.wait_log(rf"cannot execute '{private / 'app'}' as uid {NOBODY.pw_uid}: Permission denied")
        s.wait_log(r"app failed, not restarting")
        assert s.status()["state"] == "failed"
    finally:
        s.close()


def test_an_unknown_user_is_a_config_error_at_its_line(tmp_path):
    config = tmp_path / "c.toml"
    write_config(config, {"app": {"data_dir": str(tmp_path / "d"), "command": ["x"], "user": "no-such-user-x"}})
    r = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(config)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2
    assert f"{config}:4:8: [app] user 'no-such-user-x': no such user on this machine" in r.stderr


@pytest.mark.parametrize("state_dir, error", [
    (None, "[app] user needs [app] state_dir outside data_dir"),
    ("{d}/inner", "[app] state_dir {d}/inner lies inside data_dir {d}"),
])
def test_user_needs_the_supervisor_s_state_outside_the_data_dir(tmp_path, state_dir, error):
    config = tmp_path / "c.toml"
    data = tmp_path / "d"
    app = {"data_dir": str(data), "command": ["x"], "user": "nobody"}
    if state_dir:
        app["state_dir"] = state_dir.format(d=data)
    write_config(config, {"app": app})
    r = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(config)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2
    assert error.format(d=data) in r.stderr


def test_user_with_fork_is_accepted_the_release_build_drops_to_it(tmp_path):
    """[fork] with [app] user was refused while the release build ran as root; now it
    runs as the app's user and the release is sealed (test_release_privsep.py)."""
    config = tmp_path / "c.toml"
    write_config(config, {"app": {"data_dir": str(tmp_path / "d"), "command": ["x"], "user": "nobody",
                                  "state_dir": str(tmp_path / "state")},
                          "fork": {"workspace": "/w", "fork_url": "file:///f", "upstream_url": "file:///u"}})
    r = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(config)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr


def test_a_supervisor_that_is_not_root_refuses_to_start(open_tmp):
    s = Supervisor(open_tmp / "s", app={"user": "root", "command": [str(open_tmp / "agentron-fixture")],
                                        "state_dir": str(open_tmp / "state")})
    (open_tmp / "s").chmod(0o777)
    s.preexec = lambda: (os.setgid(NOBODY.pw_gid), os.setuid(NOBODY.pw_uid))
    s.start()
    assert s.wait_exit(timeout=10) == 1
    assert '[app] user = "root" needs the supervisor to start as root' in s.log()


def test_the_supervisor_s_memory_and_environment_are_closed_to_its_own_user(open_tmp):
    """The supervisor may hold the fork token in its environment; an app running as the
    same user (the default) must not read it from /proc (red-team finding)."""
    s = Supervisor(open_tmp / "s", app={"command": [str(open_tmp / "agentron-fixture")]},
                   env={"AGENTRON_FORK_TOKEN": "ghp_NOT_FOR_THE_APP_123"})
    (open_tmp / "s").chmod(0o777)
    s.preexec = lambda: (os.setgid(NOBODY.pw_gid), os.setuid(NOBODY.pw_uid))
    try:
        s.start()
        pid, _ = s.started_pid()
        s.wait_serving(expect_pid=pid)
        probe = ("import sys\n"
                 "for name in ('environ', 'mem', 'maps'):\n"
                 "    try:\n"
                 "        open(f'/proc/{sys.argv[1]}/{name}', 'rb').read(1)\n"
                 "        print('READ', name)\n"
                 "    except OSError as e:\n"
                 "        print('DENIED', name, e.errno)\n")
        r = subprocess.run(["/usr/bin/python3", "-c", probe, str(s.proc.pid)], capture_output=True, text=True,
                           timeout=10, preexec_fn=lambda: (os.setgid(NOBODY.pw_gid), os.setuid(NOBODY.pw_uid)))
        assert "READ" not in r.stdout, r.stdout + r.stderr
        assert r.stdout.count("DENIED") == 3, r.stdout + r.stderr
        # The app itself never had it.
        assert b"ghp_NOT_FOR_THE_APP_123" not in Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        s.close()
        s.kill_leftover_app()
