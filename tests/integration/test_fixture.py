"""The fixture app's own contract (docs/design.md §4) and its fault modes, which later
scenarios rely on. Run directly, without the supervisor."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from harness import FIXTURE, free_port, http_get, poll_until


class Fixture:
    def __init__(self, tmp_path, **env):
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.port = free_port()
        self.env = {"PATH": "/usr/bin:/bin", "AGENTRON_DATA_DIR": str(self.data_dir), "PORT": str(self.port),
                    "HOSTNAME": "127.0.0.1", **{k: str(v) for k, v in env.items()}}
        self.proc = subprocess.Popen([str(FIXTURE)], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def wait_listening(self, timeout=10):
        """The fixture prints its "serving" line once it listens."""
        line = self.proc.stdout.readline()
        assert "serving" in line, line + self.proc.stderr.read()

    def info(self):
        return json.loads(http_get(self.port, "/api/fixture/info")[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


@pytest.fixture
def fixture(tmp_path):
    started = []

    def make(**env):
        f = Fixture(tmp_path, **env)
        started.append(f)
        return f

    yield make
    for f in started:
        if f.proc.poll() is None:
            f.proc.kill()
        f.proc.wait()


def test_ready_db_in_rollback_journal_mode_and_clean_sigterm(fixture):
    f = fixture()
    f.wait_listening()
    assert http_get(f.port, "/api/setup/status")[0] == 200
    db = sqlite3.connect(f.data_dir / "agentron.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"agents", "workflows", "executions", "conversations", "chat_messages", "tools"} <= tables
    db.close()
    assert f.info()["data_dir"] == str(f.data_dir)
    assert f.stop() == 0


def test_crash_at_start(fixture):
    f = fixture(FIXTURE_CRASH_AT_START=3)
    assert f.proc.wait(timeout=10) == 3


def test_crash_after(fixture):
    f = fixture(FIXTURE_CRASH_AFTER="100ms", FIXTURE_CRASH_CODE=9)
    f.wait_listening()
    assert f.proc.wait(timeout=10) == 9


def test_never_ready(fixture):
    f = fixture(FIXTURE_NEVER_READY=1)
    f.wait_listening()
    with pytest.raises(Exception) as e:
        http_get(f.port, "/api/setup/status")
    assert "503" in str(e.value)


def test_slow_start(fixture):
    began = time.monotonic()
    f = fixture(FIXTURE_SLOW_START="500ms")
    f.wait_listening()
    assert time.monotonic() - began >= 0.5


def test_start_gate(fixture, tmp_path):
    gate = tmp_path / "gate"
    f = fixture(FIXTURE_START_GATE=gate)
    line = f.proc.stdout.readline()
    assert line.startswith(f"fixture: waiting for {gate}"), line + f.proc.stderr.read()
    # At the gate: no database, no port, for as long as the gate stays shut.
    assert not (f.data_dir / "agentron.sqlite").exists()
    with pytest.raises(OSError):
        http_get(f.port, "/api/setup/status")
    gate.touch()
    f.wait_listening()
    assert http_get(f.port, "/api/setup/status")[0] == 200


def test_ignore_sigterm(fixture):
    f = fixture(FIXTURE_IGNORE_SIGTERM=1)
    f.wait_listening()
    f.proc.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        f.proc.wait(timeout=0.5)  # the bound of this check: still alive half a second later
    assert http_get(f.port, "/api/setup/status")[0] == 200


def test_seed_write_and_delete_rows(fixture, tmp_path):
    f = fixture(FIXTURE_SEED_AGENTS=4, FIXTURE_WRITE_ROWS="10ms")
    f.wait_listening()
    assert f.info()["agents"] == 4
    poll_until(lambda: f.info()["runs"] >= 5, 10, "5 rows written")
    assert f.stop() == 0
    g = fixture(FIXTURE_DELETE_ROWS_AT_START=1)
    g.wait_listening()
    assert g.info()["agents"] == 0 and g.info()["runs"] == 0


def test_writes_the_verification_record(fixture, tmp_path):
    record = tmp_path / "verification.json"
    f = fixture(FIXTURE_WRITE_VERIFICATION=1, FIXTURE_SEED_AGENTS=2, AGENTRON_VERIFICATION_FILE=record,
                AGENTRON_INSTANCE_ID="i-1", AGENTRON_RELEASE_COMMIT="abc123")
    f.wait_listening()
    r = json.loads(record.read_text())
    assert r == {"instance_id": "i-1", "pid": f.proc.pid, "data_dir": str(f.data_dir), "commit": "abc123",
                 "agent_count": 2, "run_count": 0, "integrity": "ok", "writer": "app"}


def test_spawns_a_grandchild_in_its_group(fixture):
    f = fixture(FIXTURE_SPAWN_GRANDCHILD=1)
    f.wait_listening()
    grandchild = int((f.data_dir / "fixture-grandchild.pid").read_text())
    assert os.getpgid(grandchild) == os.getpgid(f.proc.pid)
    os.kill(grandchild, signal.SIGKILL)


def tools_call(port, method, path, body=None):
    """What a client of Agentron's /api/tools does: JSON in, (status, parsed JSON) out."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        text = r.read()
        return r.status, json.loads(text) if text else None
    finally:
        conn.close()


def test_the_tools_api_stores_rows_as_agentron_does(fixture):
    f = fixture()
    f.wait_listening()
    row = {"id": "agentron-supervisor-x", "name": "x", "protocol": "http",
           "config": {"url": "http://127.0.0.1:7310/v1/tools/x", "method": "POST", "headers": {"Authorization": "B"}},
           "inputSchema": {"type": "object"}}
    assert tools_call(f.port, "GET", "/api/tools") == (200, [])
    assert tools_call(f.port, "POST", "/api/tools", row) == (201, row)
    status, created = tools_call(f.port, "POST", "/api/tools", {"name": "no id"})
    assert status == 201 and created["id"]  # an id is made when none is given
    assert tools_call(f.port, "GET", "/api/tools/agentron-supervisor-x") == (200, row)
    changed = {**row, "name": "x2"}
    assert tools_call(f.port, "PUT", "/api/tools/agentron-supervisor-x", changed) == (200, changed)
    assert tools_call(f.port, "PUT", "/api/tools/missing", changed)[0] == 404
    assert [t["name"] for t in tools_call(f.port, "GET", "/api/tools")[1]] == ["x2", "no id"]
    assert tools_call(f.port, "DELETE", "/api/tools/std-web")[0] == 400
    assert tools_call(f.port, "DELETE", "/api/tools/agentron-supervisor-x") == (200, {"ok": True})
    assert tools_call(f.port, "GET", "/api/tools/agentron-supervisor-x")[0] == 404
    # Kept in its database, as Agentron keeps them.
    db = sqlite3.connect(f.data_dir / "agentron.sqlite")
    assert db.execute("SELECT count(*) FROM api_tools").fetchone()[0] == 1
    db.close()
