"""Instance logs (rotated by size) and SIGHUP reloads."""
import signal


def instance_dir(s):
    st = s.status()
    return s.data_dir / ".supervisor" / "instances" / st["instance_id"]


def test_stdout_and_stderr_go_to_rotated_files(supervisor):
    script = "i=0; while [ $i -lt 1000 ]; do echo \"out line $i\"; echo \"err line $i\" >&2; i=$((i+1)); done; " \
             "echo done; exec sleep 300"
    s = supervisor(app={"command": ["/bin/sh", "-c", script], "log_max_size": "4KiB", "log_keep": 2})
    s.started_pid()
    d = instance_dir(s)
    s.wait_until(lambda: (d / "stdout.log").exists() and "done" in (d / "stdout.log").read_text(),
                 what="the last stdout line")
    files = sorted(p.name for p in d.iterdir())
    assert files == ["stderr.log", "stderr.log.1", "stderr.log.2", "stdout.log", "stdout.log.1", "stdout.log.2"]
    for name in files:
        assert (d / name).stat().st_size <= 4096
    tail = (d / "stdout.log.2").read_text() + (d / "stdout.log.1").read_text() + (d / "stdout.log").read_text()
    assert tail.endswith("out line 999\ndone\n")
    lines = tail.splitlines()[:-1]
    numbers = [int(l.split()[-1]) for l in lines]
    assert numbers == list(range(numbers[0], 1000)), "lines lost or reordered within the kept files"


def test_reload_with_a_broken_config_keeps_the_running_one(supervisor):
    s = supervisor()
    pid, after = s.started_pid()
    good = s.config.read_text()
    s.config.write_text(good.replace("[restart]", "[restart]\nmax_restart = 3"))
    s.signal(signal.SIGHUP)
    s.wait_log(r"unknown key 'max_restart' in \[restart\]; did you mean 'max_restarts'\?", start=after)
    s.wait_log(r"reload refused: the config has 1 error\(s\); still running with the previous config", start=after)
    st = s.status()
    assert st["state"] == "ready" and st["pid"] == pid
    # status cannot read the broken config either, and says how to reach the supervisor anyway
    r = s.cli("status", "--config", str(s.config))
    assert r.returncode == 2 and "pass --state-dir or --data-dir" in r.stderr


def test_reload_applies_a_valid_config(supervisor):
    s = supervisor(app={"env": {"FIXTURE_CRASH_AT_START": "1"}}, restart={"max_restarts": 0})
    s.wait_log(r"app failed, not restarting")
    fixed = s.config.read_text().replace('FIXTURE_CRASH_AT_START = "1"', 'FIXTURE_OK = "1"')
    s.config.write_text(fixed)
    mark = len(s.lines)
    s.signal(signal.SIGHUP)
    s.wait_log(r"config reloaded", start=mark)
    pid, _ = s.started_pid(start=mark)
    s.wait_serving(expect_pid=pid)
    assert s.status()["state"] == "ready"


def test_reload_refuses_a_data_dir_change(supervisor):
    s = supervisor()
    s.started_pid()
    s.config.write_text(s.config.read_text().replace(str(s.data_dir), str(s.tmp / "other")))
    mark = len(s.lines)
    s.signal(signal.SIGHUP)
    s.wait_log(r"reload refused: \[app\] data_dir changed", start=mark)
    assert s.status()["data_dir"] == str(s.data_dir)
