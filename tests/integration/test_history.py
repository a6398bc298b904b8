"""The history ledger: what people read, what scripts read, and that it survives the
supervisor being SIGKILLed at any moment."""
import json
import random
import signal
import sqlite3

from harness import Supervisor


def ledger_rows(data_dir):
    db = sqlite3.connect(f"file:{data_dir / '.supervisor' / 'history.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT id, kind FROM events ORDER BY id").fetchall()
    finally:
        db.close()


def test_history_lists_what_happened_newest_first(supervisor):
    s = supervisor(extra={"health": {"readiness": "http", "verification": "probe", "interval": "50ms"}},
                   env={"FIXTURE_SEED_AGENTS": "2"})
    pid, _ = s.started_pid()
    s.wait_log(r"verified: agents 2, runs 0")
    table = s.cli("history", "--data-dir", str(s.data_dir)).stdout.splitlines()
    assert table[0].split()[:5] == ["WHEN", "WHAT", "BRANCH", "COMMIT", "OUTCOME"]
    assert "verified" in table[1] and "[agents 2, runs 0]" in table[1] and "ok, integrity ok" in table[1]
    assert "ready" in table[2]
    assert f"started (pid {pid})" in table[3]
    assert "supervisor started" in table[4]
    limited = s.cli("history", "--data-dir", str(s.data_dir), "--limit", "2").stdout.splitlines()
    assert len(limited) == 3  # header + 2
    events = json.loads(s.cli("history", "--json", "--data-dir", str(s.data_dir)).stdout)["events"]
    assert [e["kind"] for e in events] == ["verified", "instance_ready", "instance_started", "supervisor_started"]
    assert events[0]["counts"] == {"agents": 2, "runs": 0}


def test_history_without_a_ledger_says_so(tmp_path):
    s = Supervisor(tmp_path)
    r = s.cli("history", "--data-dir", str(tmp_path / "nothing-here"))
    assert r.returncode == 1
    assert "no history at" in r.stderr and "has not run on this data dir yet" in r.stderr


def test_history_survives_sigkill_at_any_moment(tmp_path):
    """A crash-looping app makes the supervisor write rows continuously; it is
    SIGKILLed after a random number of log lines, five times. Each time the ledger
    must pass integrity_check, keep every row it had, and take new ones."""
    rng = random.Random(7)
    seen = []
    for round_ in range(5):
        s = Supervisor(tmp_path / "s", restart={"policy": "always", "max_restarts": 100000, "backoff_max": "5ms",
                                                 "backoff_initial": "1ms"},
                       env={"FIXTURE_CRASH_AFTER": "5ms"})
        try:
            s.start()
            s.wait_log(r"supervisor exits|restarting in", timeout=10)
            target = len(s.lines) + rng.randint(1, 40)
            s.wait_until(lambda: len(s.lines) >= target, timeout=10, what=f"{target} log lines")
            s.signal(signal.SIGKILL)
            s.wait_exit()
        finally:
            s.kill_leftover_app()
        rows = ledger_rows(s.data_dir)
        assert rows[:len(seen)] == seen, f"round {round_}: rows were lost or changed"
        assert len(rows) > len(seen)
        assert sum(kind == "supervisor_started" for _, kind in rows) == round_ + 1
        seen = rows
