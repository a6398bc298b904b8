#!/usr/bin/env python3
"""The handover's own overhead (issue: restart from fork): total time of a successful
overlap handover minus what it waits for by nature — the release build, the snapshot
with the baseline count, and the new app's time to get ready. What is left is the
supervisor's: picking the request up, journaling each phase (an fsynced SQLite
commit each), verifying, switching, stopping the old instance. Target: < 250 ms.

Real git repositories on file://, the real agentron-fork, the fixture app (a 1 MB
database); readiness probed every 10 ms. Timestamps come from the history ledger
(request phases and the new instance's events), to the millisecond.
Writes a Markdown report to stdout.
"""
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from handover_env import HandoverEnv  # noqa: E402

RUNS = 5


def ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def timings(data_dir, request_id):
    db = sqlite3.connect(f"file:{data_dir / '.supervisor' / 'history.sqlite'}?mode=ro", uri=True)
    try:
        phases = {p: ts(at) for p, at in db.execute(
            "SELECT phase, at FROM request_phases WHERE request_id = ? ORDER BY id", (request_id,))}
        events = {k: ts(at) for k, at in db.execute(
            "SELECT kind, at FROM events WHERE request_id = ? ORDER BY id", (request_id,))}
    finally:
        db.close()
    t = {
        "build": phases["backing_up"] - phases["building_release"],
        "snapshot + baseline": events["instance_started"] - phases["backing_up"],
        "new app to ready": events["instance_ready"] - events["instance_started"],
        "verification": events["verified"] - events["instance_ready"],
        "switch": phases["stopping_old"] - phases["switching"],
        "old instance stop": phases["done"] - phases["stopping_old"],
        "total": phases["done"] - phases["requested"],
    }
    t["overhead"] = t["total"] - t["build"] - t["snapshot + baseline"] - t["new app to ready"]
    return t


def main():
    samples = []
    pickup = []
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        e = HandoverEnv(Path(d), health={"interval": "10ms"})
        s = e.supervisor.start()
        try:
            s.wait_log(r"instance \S+ verified: agents 3")
            for i in range(RUNS):
                commit = e.commit(message=f"improvement {i}")
                t0 = time.time()
                rid = e.request(commit)
                outcome, detail = e.wait_outcome(rid)
                assert outcome == "done", detail
                t = timings(e.data_dir, rid)
                db = sqlite3.connect(f"file:{e.data_dir / '.supervisor' / 'history.sqlite'}?mode=ro", uri=True)
                (first,) = db.execute("SELECT at FROM request_phases WHERE request_id = ? ORDER BY id LIMIT 1",
                                      (rid,)).fetchone()
                db.close()
                pickup.append(ts(first) - t0)
                samples.append(t)
        finally:
            s.close()
            s.kill_leftover_app()
    print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs), {RUNS} handovers, "
          "median (min–max), ms.\n")
    print("| phase | median | min | max |")
    print("|---|---|---|---|")
    for key in samples[0]:
        values = [x[key] * 1000 for x in samples]
        print(f"| {key} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
    values = [x * 1000 for x in pickup]
    print(f"| request file → picked up (CLI write to first journal row) | {statistics.median(values):.0f} | "
          f"{min(values):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    main()
