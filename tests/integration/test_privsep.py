"""Privilege separation end to end (issue 20, point 5; docs/security.md): the supervisor
runs as root, the app as `nobody`, the supervisor's state in a state dir of its own. The
app's user — the agent, with the app's file access — cannot change current-release.json,
the ledger, the backups or the releases (the fixture tries, as the app), and a handover
asked for by the app's user, through the one folder it may write, still runs end to end."""
import json
import os
import pwd
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest

from handover_env import HandoverEnv
from harness import FIXTURE, as_nobody, http_get, pid_alive, poll_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def open_tmp():
    """A folder nobody can pass through (pytest's tmp_path is root's 0700), with a copy
    of the fixture nobody may run (the build tree may be closed to it)."""
    path = Path(tempfile.mkdtemp(prefix="agentron-privsep-"))
    path.chmod(0o755)
    shutil.copy2(FIXTURE, path / "agentron-fixture")
    made = []
    yield path, made
    for e in made:
        e.supervisor.close()
        e.supervisor.kill_leftover_app()
    shutil.rmtree(path, ignore_errors=True)


def serving_info(port, pid):
    """/api/fixture/info from the instance `pid` on `port`, once it answers."""
    def info():
        try:
            answer = json.loads(http_get(port, "/api/fixture/info", timeout=1)[1])
        except OSError:
            return None
        return answer if answer["pid"] == pid else None
    return poll_until(info, 10, f"pid {pid} serving on {port}")


def serving_privsep_env(tmp, made, record=True):
    """A supervisor as root, the app as nobody, state in <tmp>/state, serving 3 agents;
    `record`: verification = "record", the app writing its record into its app/ folder."""
    state = tmp / "state"
    e = HandoverEnv(tmp, app={"user": "nobody", "state_dir": str(state)}, fixture=tmp / "agentron-fixture",
                    fork={"releases_dir": str(state / "releases")},
                    health={"verification": "record"} if record else None)
    if record:
        e.write_release_files(e.initial, "export FIXTURE_SEED_AGENTS=3; export FIXTURE_WRITE_VERIFICATION=1", "")
    made.append(e)
    e.supervisor.start()
    e.supervisor.wait_log(r"instance \S+ verified: agents 3")
    return e, state


def attempts(data_dir):
    lines = (data_dir / "write-attempts.txt").read_text().splitlines()
    assert lines, "the fixture made no attempt"
    return lines


def test_a_handover_runs_with_the_app_unable_to_touch_the_supervisor_s_state(open_tmp):
    tmp, made = open_tmp
    # verification = "record": the app writes its record into instances/<id>/app/, the
    # one folder of the instance that is its own.
    e, state = serving_privsep_env(tmp, made)
    s = e.supervisor

    targets = [state / "current-release.json", state / "history.sqlite", state, state / "instances",
               state / "backups", state / "releases", state / "request-archive"]
    # $(dirname "$0") is the release the app runs from: sealed, so not its to change either.
    try_write = ":".join(str(p) for p in targets) + ':$(dirname "$0"):$(dirname "$0")/app.sh'
    commit = e.commit(exports=f'export FIXTURE_WRITE_VERIFICATION=1; export FIXTURE_TRY_WRITE="{try_write}"')

    # The request comes from the app's user, through the folder only it and root may write.
    requests = state / "requests"
    assert requests.stat().st_uid == NOBODY.pw_uid
    body = json.dumps({"branch": "agent-improvement/faster", "commit": commit, "summary": "faster search",
                       "requested_by": "agent"})

    def write_request(name, body):
        def write():
            (requests / f"{name}.json.tmp").write_text(body)
            os.rename(requests / f"{name}.json.tmp", requests / f"{name}.json")
        return write
    assert as_nobody(write_request("from-app", body))
    outcome, detail = e.wait_outcome("from-app")
    assert outcome == "done", detail

    release = state / "releases" / commit
    st = s.status()
    new_pid, port = st["pid"], st["port"]
    assert serving_info(port, new_pid)["agents"] == 3  # nothing lost
    record = next((state / "instances").glob("*/app/verification.json"))
    assert record.stat().st_uid == NOBODY.pw_uid
    lines = attempts(e.data_dir)
    assert not [l for l in lines if "SUCCEEDED" in l], "\n".join(lines)
    assert len(lines) == 2 * (len(targets) + 2)
    assert f"create-in {release}: denied (Permission denied)" in lines
    assert f"write {state / 'history.sqlite'}: denied (Permission denied)" in lines

    # The release is root's, and nothing in it is writable by anyone else.
    for root, dirs, files in os.walk(release):
        for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
            st = os.lstat(name)
            assert st.st_uid == 0, name
            if not stat.S_ISLNK(st.st_mode):
                assert not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID), name

    # A second handover: now current-release.json exists, and the first sealed release
    # is the previous one — neither is the app's to change.
    second = e.commit(exports=f'export FIXTURE_WRITE_VERIFICATION=1; export FIXTURE_TRY_WRITE="{try_write}:{release}"',
                      message="a second improvement")
    assert as_nobody(write_request("again", json.dumps({"branch": "agent-improvement/faster", "commit": second,
                                                        "summary": "second"})))
    outcome, detail = e.wait_outcome("again")
    assert outcome == "done", detail
    lines = attempts(e.data_dir)
    assert not [l for l in lines if "SUCCEEDED" in l], "\n".join(lines)
    assert f"write {state / 'current-release.json'}: denied (Permission denied)" in lines
    assert f"create-in {release}: denied (Permission denied)" in lines
    assert json.loads((state / "current-release.json").read_text())["commit"] == second
    assert not pid_alive(new_pid)

    # The pre-restart snapshot is in the supervisor's backups, and verifies.
    r = s.cli("backups", "verify", "--config", str(s.config))
    assert r.returncode == 0, r.stdout + r.stderr
    row = e.request_row("from-app")
    assert row["state"] == "done" and row["requested_by"] == "agent" and row["commit"] == commit


def test_the_supervisor_refuses_a_state_dir_the_app_s_user_could_replace(open_tmp):
    tmp, made = open_tmp
    shared = tmp / "shared"
    shared.mkdir()
    os.chown(shared, NOBODY.pw_uid, NOBODY.pw_gid)  # nobody owns the folder above the state dir
    e = HandoverEnv(tmp, app={"user": "nobody", "state_dir": str(shared / "state")}, fixture=tmp / "agentron-fixture",
                    fork={"releases_dir": str(tmp / "releases")})
    made.append(e)
    e.supervisor.start()
    assert e.supervisor.wait_exit(timeout=10) != 0
    assert f"{shared} (above {shared / 'state'}) is owned by uid {NOBODY.pw_uid}" in e.supervisor.log()


# The new release's app (as nobody) points the data dir's database at the ledger and
# says rows were lost, so the handover "puts them back" — as root, until it read the
# app's database as the app (red team, finding 2).
LEDGER_ATTACK_APP = r'''
STATE=$(dirname "$(dirname "$(dirname "$(dirname "$AGENTRON_VERIFICATION_FILE")")")")
cd "$AGENTRON_DATA_DIR"
mv agentron.sqlite agentron.sqlite.mine
ln -s "$STATE/history.sqlite" agentron.sqlite
printf '{"instance_id":"%s","data_dir":"%s","integrity":"ok","counts":{"agents":0,"runs":0}}' \
  "$AGENTRON_INSTANCE_ID" "$AGENTRON_DATA_DIR" > "$AGENTRON_VERIFICATION_FILE"
mkdir -p scratch
export AGENTRON_DATA_DIR="$PWD/scratch"
'''


def test_putting_lost_rows_back_never_writes_where_the_app_points(open_tmp):
    tmp, made = open_tmp
    e, state = serving_privsep_env(tmp, made)
    s = e.supervisor

    def plant():  # tables named like the ledger's, with forged rows, in the app's own database
        db = sqlite3.connect(e.data_dir / "agentron.sqlite", timeout=10)
        db.execute("CREATE TABLE events (id, at, kind, instance_id, pid, release, commit_sha, detail, counts, "
                   "integrity, request_id)")
        db.execute("INSERT INTO events VALUES (990001, 'x', 'FORGED_BY_NOBODY', 'x', 1, 'r', 'c', 'd', NULL, 'ok', "
                   "NULL)")
        db.commit()
        db.close()
    assert as_nobody(plant)
    commit = e.commit(exports=LEDGER_ATTACK_APP, message="lose some rows")
    requests = state / "requests"

    def write():
        (requests / "lost.json.tmp").write_text(json.dumps({"branch": "agent-improvement/faster", "commit": commit,
                                                            "summary": "lose rows"}))
        os.rename(requests / "lost.json.tmp", requests / "lost.json")
    assert as_nobody(write)
    outcome, detail = e.wait_outcome("lost", timeout=90)
    assert outcome == "rolled_back" and "could NOT be put back" in detail, detail
    ledger = sqlite3.connect(f"file:{state / 'history.sqlite'}?mode=ro", uri=True)
    assert ledger.execute("SELECT count(*) FROM events WHERE kind = 'FORGED_BY_NOBODY'").fetchone()[0] == 0
    ledger.close()


def test_a_trapped_database_of_the_app_leaves_every_other_file_in_the_snapshot(open_tmp):
    """A decoy database whose -journal is a symlink made SQLite refuse it, and that one
    entry failed every snapshot (red team, finding 6)."""
    tmp, made = open_tmp
    e, state = serving_privsep_env(tmp, made, record=False)
    s = e.supervisor

    def trap():
        db = sqlite3.connect(e.data_dir / "trap.sqlite")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (randomblob(1000))")
        db.commit()
        db.close()
        os.symlink("/etc/hostname", e.data_dir / "trap.sqlite-journal")
    assert as_nobody(trap)
    r = s.cli("backups", "create", "--json", "--config", str(s.config), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "trap.sqlite: a database whose -journal, -wal or -shm is a symlink" in r.stderr
    snapshot = json.loads(r.stdout)["data"]
    assert "agentron.sqlite" in snapshot["databases"] and "trap.sqlite" not in snapshot["databases"]
    assert s.cli("backups", "verify", "--config", str(s.config), timeout=60).returncode == 0
