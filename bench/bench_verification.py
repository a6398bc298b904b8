#!/usr/bin/env python3
"""Does `probe` verification get in the way of the app's writes? (issue: verification
and history). The fixture inserts a row every 2 ms into a rollback-journal DB (like
Agentron's better-sqlite3) and times each insert. For each DB size: the insert
latencies over a window with no verification, then over a window in which the
supervisor verifies (count queries + PRAGMA quick_check, read-only) back to back.
Writes a Markdown report to stdout; bench/README.md holds the results.
"""
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import Supervisor, http_get  # noqa: E402

WINDOW_S = 5


def make_db(path, rows):
    """The fixture's schema with `rows` runs and rows/10 agents, ~100 bytes each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for table in ("agents", "workflows", "executions", "conversations", "chat_messages", "tools"):
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)")
    db.executemany("INSERT INTO executions (name) VALUES (?)", (("run %d %s" % (i, "x" * 80),) for i in range(rows)))
    db.executemany("INSERT INTO agents (name) VALUES (?)", (("agent %d" % i,) for i in range(rows // 10)))
    db.commit()
    db.close()
    return path.stat().st_size


def fixture_stats(s, path):
    _, body = http_get(s.port, path, timeout=5)
    return json.loads(body)


def one_size(tmp, rows):
    s = Supervisor(tmp / f"rows-{rows}", env={"FIXTURE_WRITE_ROWS": "2ms"},
                   extra={"health": {"readiness": "http", "verification": "probe", "interval": "50ms"}})
    size = make_db(s.data_dir / "agentron.sqlite", rows)
    s.start()
    try:
        s.wait_log(r"verified: ", timeout=60)
        start = fixture_stats(s, "/api/fixture/reset-stats")
        end = time.monotonic() + WINDOW_S
        while time.monotonic() < end:
            s._read_available(0.1)
        quiet = fixture_stats(s, "/api/fixture/info")
        quiet["writes"] -= start["writes"]
        fixture_stats(s, "/api/fixture/reset-stats")
        writes_before = quiet["writes"]
        verifications, took = 0, []
        end = time.monotonic() + WINDOW_S
        while time.monotonic() < end:
            t0 = time.monotonic()
            r = s.cli("verify", "--data-dir", str(s.data_dir), "--json", timeout=60)
            assert r.returncode == 0, r.stderr
            took.append(time.monotonic() - t0)
            verifications += 1
        busy = fixture_stats(s, "/api/fixture/info")
        busy["writes"] -= writes_before
        return size, quiet, busy, verifications, took
    finally:
        s.close()


def main():
    print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs), "
          f"SQLite {sqlite3.sqlite_version}, fixture inserting every 2 ms, {WINDOW_S} s windows.\n")
    print("| DB | inserts | p50 / p99 / max insert, no verification | verifications (each, CLI round trip) "
          "| inserts | p50 / p99 / max insert, verifying back to back | failed inserts |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        for rows in (10_000, 100_000, 1_000_000):
            size, quiet, busy, n, took = one_size(Path(d), rows)
            each = sorted(took)[len(took) // 2] * 1000
            print(f"| {size / 1e6:.0f} MB ({rows:,} runs) | {quiet['writes']:,} | "
                  f"{quiet['p50_write_ms']:.1f} / {quiet['p99_write_ms']:.1f} / {quiet['max_write_ms']:.1f} ms | "
                  f"{n} ({each:.0f} ms) | {busy['writes']:,} | "
                  f"{busy['p50_write_ms']:.1f} / {busy['p99_write_ms']:.1f} / {busy['max_write_ms']:.1f} ms | "
                  f"{busy['write_errors']} |")


if __name__ == "__main__":
    main()
