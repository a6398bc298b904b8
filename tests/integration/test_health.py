"""Readiness and verification with the real supervisor and the fixture app: the
probe's counts are the DB's own, the app's record is accepted or rejected with the
reason, an app that never gets ready is restarted per policy, and every result is
in the history."""
import json
import sqlite3
import subprocess

import pytest

from harness import SUPERVISOR

PROBE = {"readiness": "http", "verification": "probe", "interval": "50ms", "timeout": "10s"}
RECORD = {"readiness": "http", "verification": "record", "interval": "50ms", "timeout": "5s"}


def make_db(path, agents, runs, extra_tools=0):
    """A DB in the fixture's schema, as an app that ran before would leave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for table in ("agents", "workflows", "executions", "conversations", "chat_messages", "tools"):
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)")
    db.executemany("INSERT INTO agents (name) VALUES (?)", [(f"a{i}",) for i in range(agents)])
    db.executemany("INSERT INTO executions (name) VALUES (?)", [(f"r{i}",) for i in range(runs)])
    db.executemany("INSERT INTO tools (name) VALUES (?)", [("t" * 500,) for _ in range(extra_tools)])
    db.commit()
    db.close()


def history(s):
    r = s.cli("history", "--json", "--data-dir", str(s.data_dir))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def events_of(s, kind):
    return [e for e in history(s)["events"] if e["kind"] == kind]


def test_probe_mode_records_the_databases_true_counts(supervisor):
    s = supervisor(start=False, extra={"health": PROBE})
    make_db(s.data_dir / "agentron.sqlite", agents=7, runs=31)
    s.start()
    m = s.wait_log(r"instance (\S+) verified: agents 7, runs 31, integrity ok \(record by supervisor")
    instance = m.group(1)
    record = json.loads((s.data_dir / ".supervisor" / "instances" / instance / "verification.json").read_text())
    assert record["writer"] == "supervisor"
    assert record["instance_id"] == instance
    assert record["data_dir"] == str(s.data_dir)
    assert (record["agent_count"], record["run_count"], record["integrity"]) == (7, 31, "ok")
    st = s.status()
    assert st["state"] == "ready"
    assert st["last_verification"]["ok"] and st["last_verification"]["counts"] == {"agents": 7, "runs": 31}
    verified = events_of(s, "verified")
    assert verified[0]["instance_id"] == instance and verified[0]["counts"] == {"agents": 7, "runs": 31}
    # The DB the probe read was never written by it: still the app's 7 and 31.
    db = sqlite3.connect(f"file:{s.data_dir / 'agentron.sqlite'}?mode=ro", uri=True)
    assert db.execute("SELECT count(*) FROM agents").fetchone()[0] == 7
    db.close()


def test_record_mode_accepts_the_apps_record(supervisor):
    s = supervisor(extra={"health": RECORD}, env={"FIXTURE_WRITE_VERIFICATION": "1", "FIXTURE_SEED_AGENTS": "4"})
    s.wait_log(r"verified: agents 4, runs 0, integrity ok \(record by app")
    assert history(s)["events"][0]["kind"] == "verified"


@pytest.mark.parametrize("how, reason", [
    ("other_data_dir", r"the verification record's data_dir is \".*-elsewhere\", not the pinned data dir"),
    ("malformed", r"the verification record is malformed: not JSON"),
    ("corrupt", r"the database integrity check failed: row 3 missing from index"),
])
def test_a_bad_record_is_rejected_with_the_reason(supervisor, how, reason):
    s = supervisor(extra={"health": RECORD}, env={"FIXTURE_WRITE_VERIFICATION": how})
    s.wait_log(r"NOT verified: " + reason)
    failed = events_of(s, "verification_failed")
    assert len(failed) == 1
    assert s.status()["last_verification"]["ok"] is False
    # Not verifying is reported, not punished: outside a handover the app keeps serving.
    assert s.status()["state"] == "ready"


def test_record_mode_without_a_record_fails_after_the_timeout(supervisor):
    s = supervisor(extra={"health": dict(RECORD, timeout="1s")})
    s.wait_log(r"NOT verified: no verification record from the app within 1s")


def test_a_corrupt_database_fails_quick_check(supervisor, tmp_path):
    s = supervisor(start=False, extra={"health": PROBE})
    db_path = s.data_dir / "agentron.sqlite"
    make_db(db_path, agents=2, runs=3, extra_tools=400)
    # Garble the last page (a leaf of `tools`, which no count reads): the counts still
    # work, the integrity check must not.
    data = bytearray(db_path.read_bytes())
    page = 4096
    last = len(data) - page
    data[last:last + 64] = b"\xff" * 64
    db_path.write_bytes(bytes(data))
    s.start()
    m = s.wait_log(r"NOT verified: (.+)")
    assert m.group(1).startswith("the database integrity check failed: "), m.group(1)
    failed = events_of(s, "verification_failed")
    assert failed and failed[0]["detail"] == m.group(1) and failed[0]["integrity"] != "ok"
    # The record says what was found, for whoever reads it later.
    record = json.loads(next((s.data_dir / ".supervisor" / "instances").glob("*/verification.json")).read_text())
    assert record["integrity"] != "ok" and record["writer"] == "supervisor"


def test_a_missing_table_is_a_clear_error_at_run_time_and_in_config_check(supervisor):
    health = dict(PROBE, counts={"agents": "SELECT count(*) FROM agentz"})
    s = supervisor(start=False, extra={"health": health})
    make_db(s.data_dir / "agentron.sqlite", agents=1, runs=1)
    check = subprocess.run([str(SUPERVISOR), "config", "check", "--config", str(s.config)],
                           capture_output=True, text=True, timeout=10)
    assert check.returncode == 2
    assert "[health] counts.agents fails against the app's database" in check.stderr
    assert "no such table: agentz" in check.stderr
    s.start()
    s.wait_log(r"NOT verified: \[health\] counts.agents failed: SELECT count\(\*\) FROM agentz on .*: no such table: agentz")


def test_an_app_that_never_gets_ready_is_stopped_and_restarted_per_policy(supervisor):
    s = supervisor(extra={"health": dict(PROBE, timeout="300ms")}, restart={"max_restarts": 2},
                   env={"FIXTURE_NEVER_READY": "1"})
    first, after = s.started_pid()
    s.wait_log(r"not ready after 300ms \(\d+ tries; last try: GET http://127.0.0.1:\d+/api/setup/status: answered 503\)")
    second, after = s.started_pid(after)
    assert second != first
    s.wait_log(r"app failed, not restarting: .*not ready after 300ms", start=after)
    kinds = [e["kind"] for e in history(s)["events"]]
    assert kinds.count("readiness_failed") == 3
    assert kinds[0] == "instance_failed"
    assert "verified" not in kinds


def test_verify_reruns_the_verification_on_demand(supervisor):
    s = supervisor(start=False, extra={"health": PROBE}, env={"FIXTURE_WRITE_ROWS": "5ms"})
    make_db(s.data_dir / "agentron.sqlite", agents=2, runs=0)
    s.start()
    s.wait_log(r"verified: agents 2")
    r = s.cli("verify", "--json", "--data-dir", str(s.data_dir))
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["ok"] and answer["counts"]["agents"] == 2
    assert answer["counts"]["runs"] >= 0
    assert len(events_of(s, "verified")) == 2


def test_probing_does_not_fail_or_stall_the_apps_writes(supervisor):
    """The fixture inserts every 2 ms (rollback journal, like Agentron); verifications
    run back to back. No insert may fail, and none may wait anywhere near the app's
    5 s busy timeout. bench/bench_verification.py measures the latencies."""
    s = supervisor(start=False, extra={"health": PROBE}, env={"FIXTURE_WRITE_ROWS": "2ms"})
    make_db(s.data_dir / "agentron.sqlite", agents=100, runs=50_000)
    s.start()
    s.wait_log(r"verified: agents 100")
    for _ in range(20):
        assert s.cli("verify", "--data-dir", str(s.data_dir)).returncode == 0
    info = s.wait_serving()
    assert info["write_errors"] == 0
    assert info["writes"] > 0
    assert info["max_write_ms"] < 1000, info


@pytest.mark.parametrize("readiness, env", [
    ("tcp", {}),
    ("record", {"FIXTURE_WRITE_VERIFICATION": "1"}),
])
def test_tcp_and_record_readiness(supervisor, tmp_path, readiness, env):
    gate = tmp_path / "start-gate"
    s = supervisor(extra={"health": {"readiness": readiness, "verification": "none", "interval": "20ms"}},
                   env={**env, "FIXTURE_START_GATE": str(gate)})
    pid, after = s.started_pid()
    # The fixture neither listens nor writes its record until the gate opens.
    assert s.status()["state"] == "starting"
    gate.touch()
    s.wait_log(r"instance \S+ ready", start=after)
    info = s.wait_serving(expect_pid=pid, timeout=1)
    assert info["pid"] == pid
