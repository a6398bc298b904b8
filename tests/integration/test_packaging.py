"""The shipped files are valid."""
import subprocess
from pathlib import Path

from harness import SUPERVISOR

ROOT = Path(__file__).resolve().parents[2]


def test_default_profile_config_is_valid(tmp_path):
    """Valid as shipped — but for its [app] user, which the operator creates (the unit's
    comment says how): checked here with one every machine has."""
    shipped = (ROOT / "packaging/agentron-supervisor.toml").read_text()
    assert 'user         = "agentron"' in shipped and 'state_dir    = "/var/lib/agentron-supervisor"' in shipped
    config = tmp_path / "agentron-supervisor.toml"
    config.write_text(shipped.replace('user         = "agentron"', 'user         = "nobody"'))
    r = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(config)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert 'data_dir       = "/var/lib/agentron/data"' in r.stdout
    assert 'state_dir      = "/var/lib/agentron-supervisor"' in r.stdout


def test_embedded_demo_config_is_valid(tmp_path):
    r = subprocess.run([str(SUPERVISOR), "config", "check"], capture_output=True, text=True, timeout=10,
                       cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "embedded demo config" in r.stderr
    assert f'data_dir       = "{tmp_path}/agentron-demo-data"' in r.stdout
    assert 'command        = ["{release}/agentron-fixture"]' in r.stdout


def test_embedded_demo_runs_the_fixture_on_port_3000(tmp_path):
    import json
    import socket
    import pytest
    from harness import Supervisor, http_get
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 3000)) == 0:
            pytest.skip("port 3000 is in use on this machine")
    s = Supervisor(tmp_path / "harness")  # its config file stays out of the demo's cwd
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    s.proc = subprocess.Popen([str(SUPERVISOR), "run"], cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import os
    os.set_blocking(s.proc.stderr.fileno(), False)
    try:
        s.wait_log(r"using the embedded demo config")
        pid, _ = s.started_pid()
        s.port = 3000
        info = s.wait_serving(expect_pid=pid)
        assert info["data_dir"] == str(cwd / "agentron-demo-data")
    finally:
        s.close()
    assert s.proc.returncode == 0
