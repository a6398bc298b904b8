"""The instance's environment: docs/design.md §5."""
from harness import wait_pid_gone


def read_environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e)


def environ_of(s, pid):
    """The instance's environment. posix_spawn returns as soon as the exec has replaced
    the memory map, a moment before the kernel publishes the new environ: wait for it."""
    return s.wait_until(lambda: read_environ(pid), timeout=5, what=f"/proc/{pid}/environ")


def test_pinned_data_dir_overrides_the_supervisors_own(supervisor):
    s = supervisor(env={"AGENTRON_DATA_DIR": "/tmp/somewhere-else", "PORT": "1"})
    pid, _ = s.started_pid()
    env = environ_of(s, pid)
    assert env["AGENTRON_DATA_DIR"] == str(s.data_dir)
    assert env["AGENTRON_DATA_DIR"].startswith("/")
    assert env["PORT"] == str(s.port)
    instance_id = env["AGENTRON_INSTANCE_ID"]
    assert env["AGENTRON_VERIFICATION_FILE"] == f"{s.data_dir}/.supervisor/instances/{instance_id}/verification.json"
    assert env["AGENTRON_RELEASE_COMMIT"] == ""
    assert env["HOSTNAME"] == "127.0.0.1"
    # The app itself sees and uses it.
    info = s.wait_serving(expect_pid=pid)
    assert info["data_dir"] == str(s.data_dir)
    assert (s.data_dir / "agentron.sqlite").exists()


def test_relative_data_dir_resolves_against_the_config_folder(supervisor):
    s = supervisor(start=False, app={"data_dir": "rel-data"})
    s.start()
    pid, _ = s.started_pid()
    assert environ_of(s, pid)["AGENTRON_DATA_DIR"] == str(s.tmp / "rel-data")


def test_placeholders_expand_in_command_and_env(supervisor):
    s = supervisor(app={"command": ["/bin/sh", "-c", "echo port={port} id=$ID; exec sleep 300"],
                        "env": {"ID": "{instance_id}"}})
    s.started_pid()
    instance_id = s.status()["instance_id"]
    log = s.data_dir / ".supervisor" / "instances" / instance_id / "stdout.log"
    s.wait_until(lambda: log.exists() and log.read_text(), what="stdout.log written")
    assert log.read_text() == f"port={s.port} id={instance_id}\n"


def test_app_runs_in_its_own_session(supervisor):
    s = supervisor()
    pid, _ = s.started_pid()
    assert os_getsid(pid) == pid  # session and group leader: a group signal reaches everything
    assert os_getsid(pid) != os_getsid(s.proc.pid)


def os_getsid(pid):
    import os
    return os.getsid(pid)
