"""A SIGKILL of the supervisor at each phase of a handover, then a restart: exactly one
instance serves afterwards (never two on the data dir once reconciled), no row is
lost, and the history says how the request ended."""
import os
import signal
import sqlite3
import threading

import pytest

from handover_env import HandoverEnv
from harness import FIXTURE, pid_alive

PHASES = ["building_release", "backing_up", "starting_new", "verifying", "switching", "stopping_old", "done"]
# How each ends: the switch (make_current, right after switching is journaled) decides.
OUTCOME = {phase: "rolled_back" for phase in PHASES[:5]} | {"stopping_old": "done", "done": "done"}


def fixtures_on(data_dir):
    """Pids of every fixture process whose AGENTRON_DATA_DIR is `data_dir`."""
    found = []
    needle = f"AGENTRON_DATA_DIR={data_dir}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/exe") != str(FIXTURE) and \
                    not os.readlink(f"/proc/{entry}/exe").endswith("/agentron-fixture"):
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return [p for p in found if pid_alive(p)]


def executions(data_dir):
    # Read-write on purpose: an instance SIGKILLed mid-write leaves a hot journal, which
    # only a connection that may write can roll back (as the next app start would).
    db = sqlite3.connect(data_dir / "agentron.sqlite", timeout=10)
    try:
        return db.execute("SELECT count(*) FROM executions").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("phase", PHASES)
def test_sigkill_during_a_handover_then_restart(tmp_path, phase):
    gate = tmp_path / "gate.fifo"
    os.mkfifo(gate)
    # The old release writes all the time and takes its full stop_timeout to stop.
    e = HandoverEnv(tmp_path, initial_exports="export FIXTURE_SEED_AGENTS=3 FIXTURE_WRITE_ROWS=5ms "
                                              "FIXTURE_IGNORE_SIGTERM=1")
    build = f'read line < "{gate}"' if phase == "building_release" else ""
    commit = e.commit(exports="export FIXTURE_WRITE_ROWS=5ms", build=build)
    s = e.supervisor
    if phase != "building_release":
        # Most phases act within a turn of the loop, too soon for a kill sent on their
        # log line: the supervisor stops dead right after journaling this one
        # (supervisor/test_pause_point.h). building_release is held by its build instead,
        # which blocks on the gate: killed with agentron-fork still running.
        s.env["AGENTRON_TEST_PAUSE_AT"] = phase
    try:
        s.start()
        s.wait_log(r"instance \S+ verified: agents 3")
        rid = e.request(commit)
        if phase == "building_release":
            s.wait_log(rf"request {rid}: {phase}\b", timeout=60)
        else:
            s.wait_log(rf"test pause: request {rid} paused after journaling {phase}$", timeout=60)
        before = executions(e.data_dir)
        s.signal(signal.SIGKILL)
        s.wait_exit()
        if phase == "building_release":
            threading.Thread(target=lambda: open(gate, "w").write("go\n"), daemon=True).start()

        s.env.pop("AGENTRON_TEST_PAUSE_AT", None)
        s.lines.clear()
        s.start()
        s.wait_log(r"instance \S+ (verified|ready)", timeout=30)
        # Reconciled: the leftovers stop (the old one only after its stop_timeout).
        serving = s.wait_until(lambda: len(fixtures_on(e.data_dir)) == 1 and fixtures_on(e.data_dir), timeout=20,
                               what="exactly one instance on the data dir")
        st = s.status()
        assert serving == [st["pid"]]
        assert st["state"] == "ready"
        row = e.request_row(rid)
        assert row["state"] == OUTCOME[phase], row
        if phase != "done":  # the kill landed in that phase, and the restart says so
            assert row["reason"].startswith(f"the supervisor was killed during {phase}; "), row
        assert (st["commit"] == commit) == (row["state"] == "done"), (st, row)
        assert e.db_count("SELECT count(*) FROM agents") == 3
        assert executions(e.data_dir) >= before  # nothing that was written is gone
    finally:
        s.close()
        for pid in fixtures_on(e.data_dir):
            os.killpg(pid, signal.SIGKILL)
