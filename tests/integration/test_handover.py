"""Restart from fork, end to end: real git repositories, the real agentron-fork, the
fixture app. Every failure ends with the old instance serving (same pid), the data
intact and a history row that says why."""
import json
import os
import signal
import sqlite3
import stat
import time

import pytest

from handover_env import BRANCH
from harness import http_get, pid_alive, poll_until


@pytest.fixture
def env(handover_envs):
    return handover_envs


def start_serving(e):
    s = e.supervisor.start()
    pid, _ = s.started_pid()
    s.wait_log(r"instance \S+ verified: agents 3")
    return pid


def assert_old_still_serves(e, old_pid):
    assert pid_alive(old_pid)
    st = e.supervisor.status()
    assert st["pid"] == old_pid and st["state"] == "ready"
    info = e.supervisor.wait_serving(expect_pid=old_pid, timeout=5)
    assert info["agents"] == 3


@pytest.mark.parametrize("verification", ["probe", "record"])
def test_a_verified_handover_switches_to_the_new_release(env, verification):
    exports = "export FIXTURE_WRITE_VERIFICATION=1" if verification == "record" else ""
    e = env(health={"verification": verification})
    if verification == "record":
        e.write_release_files(e.initial, "export FIXTURE_SEED_AGENTS=3; export FIXTURE_WRITE_VERIFICATION=1", "")
    old_pid = start_serving(e)
    commit = e.commit(exports=exports)
    rid = e.request(commit)
    assert e.wait_outcome(rid)[0] == "done"
    s = e.supervisor
    st = s.status()
    assert st["commit"] == commit
    assert st["release"] == str(e.tmp / "releases" / commit)
    assert st["port"] == e.alternate_port and st["pid"] != old_pid
    assert not pid_alive(old_pid)
    status, _ = http_get(e.alternate_port, "/api/setup/status")
    assert status == 200
    row = e.request_row(rid)
    assert row["state"] == "done" and row["branch"] == BRANCH and row["commit"] == commit
    assert row["counts_before"]["agents"] == 3 and row["counts_after"]["agents"] == 3
    assert os.path.isdir(row["backup"]) and "pre-restart-" in row["backup"]
    expected = ["requested", "building_release", "backing_up", "starting_new", "verifying", "switching",
                "stopping_old", "done"]
    assert e.phases(rid) == expected
    assert [p["phase"] for p in row["phases"]] == expected
    assert all(p["at"] for p in row["phases"])
    assert [p["phase"] for p in s.status()["handover"]["phases"]] == expected
    table = s.cli("history", "--data-dir", str(e.data_dir)).stdout
    assert f"restart request {rid}: faster search (run run-1)" in table and "done" in table
    assert "phases: requested " in table and " → done " in table


def test_a_restarted_supervisor_starts_the_current_release(env):
    e = env()
    start_serving(e)
    commit = e.commit()
    assert e.wait_outcome(e.request(commit))[0] == "done"
    e.supervisor.signal(signal.SIGTERM)
    assert e.supervisor.wait_exit() == 0
    e.supervisor.lines.clear()
    e.supervisor.start()
    e.supervisor.wait_log(r"instance \S+ verified")
    assert e.supervisor.status()["commit"] == commit


@pytest.mark.parametrize("case, exports, build, reason", [
    ("build fails", "", "echo compile error >&2; exit 2", r"the release build failed: the build of \w+ exit code 2"),
    ("new crashes at start", "export FIXTURE_CRASH_AT_START=3", "", r"the new instance \S+ .*exit code 3"),
    ("new never ready", "export FIXTURE_NEVER_READY=1", "", r"not ready after 1s"),
    ("new deletes rows", "export FIXTURE_DELETE_ROWS_AT_START=1", "",
     r"the new instance sees fewer rows than before: agents dropped from 3 to 0; put back 3 lost rows \(agents 3\)"),
])
def test_a_failed_handover_leaves_the_old_instance_serving(env, case, exports, build, reason):
    e = env(health={"timeout": "1s"})
    old_pid = start_serving(e)
    commit = e.commit(exports=exports, build=build)
    rid = e.request(commit)
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rolled_back", detail
    import re
    assert re.search(reason, detail), detail
    assert_old_still_serves(e, old_pid)
    row = e.request_row(rid)
    assert row["state"] == "rolled_back" and re.search(reason, row["reason"])
    if case != "build fails":  # a new instance ran: where its logs are
        assert "the new instance's logs: " + str(e.data_dir / ".supervisor" / "instances") in row["reason"]
    assert e.supervisor.status()["commit"] != commit
    if case == "new deletes rows":
        # The snapshot taken before has them; restoring is the operator's call.
        assert os.path.isdir(row["backup"])


def test_a_commit_not_pushed_to_the_fork_is_rejected(env):
    e = env()
    old_pid = start_serving(e)
    commit = e.commit(push=False)
    rid = e.request(commit)
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rejected"
    assert "is not on the fork's branch agent-improvement/faster" in detail or "no commit" in detail
    assert_old_still_serves(e, old_pid)
    rejected = e.data_dir / ".supervisor" / "request-archive" / "rejected"
    poll_until(lambda: (rejected / f"{rid}.reason").exists(), 5, "the .reason beside the rejected request")
    assert (rejected / f"{rid}.json").exists()


def test_requests_are_refused_when_the_folder_is_world_writable(env):
    e = env()
    old_pid = start_serving(e)
    requests = e.data_dir / ".supervisor" / "requests"
    requests.chmod(0o777)
    rid = e.request(e.commit())
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rejected" and "writable by group or others (mode 0777)" in detail
    archive = e.data_dir / ".supervisor" / "request-archive"
    assert (archive / "rejected" / f"{rid}.reason").read_text().startswith("the requests folder")
    assert_old_still_serves(e, old_pid)


@pytest.mark.parametrize("text, reason", [
    ("{not json", "not JSON"),
    ('{"branch":"b","commit":"0123abcd","summary":"s","build":"rm -rf /"}', 'unknown key "build"'),
    ('{"branch":"a..b","commit":"0123abcd","summary":"s"}', "is not a valid branch name"),
])
def test_bad_request_files_are_rejected_with_a_reason(env, text, reason):
    e = env()
    old_pid = start_serving(e)
    requests = e.data_dir / ".supervisor" / "requests"
    (requests / "bad.json.tmp").write_text(text)
    os.rename(requests / "bad.json.tmp", requests / "bad.json")
    outcome, detail = e.wait_outcome("bad")
    assert outcome == "rejected" and reason in detail
    assert reason in (e.data_dir / ".supervisor" / "request-archive" / "rejected" / "bad.reason").read_text()
    assert e.request_row("bad")["state"] == "rejected"
    assert_old_still_serves(e, old_pid)


def test_approval_deny_and_approve(env):
    e = env(handover={"require_approval": True})
    old_pid = start_serving(e)
    commit = e.commit()
    rid = e.request(commit)
    e.supervisor.wait_log(rf"request {rid}: awaiting_approval")
    assert e.supervisor.status()["handover"]["state"] == "awaiting_approval"
    r = e.supervisor.cli("deny", rid, "--reason", "not today", "--data-dir", str(e.data_dir))
    assert r.returncode == 0, r.stderr
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rejected" and "denied: not today" in detail
    assert_old_still_serves(e, old_pid)
    assert not (e.tmp / "releases" / commit).exists()  # nothing was built

    rid2 = e.request(commit)
    e.supervisor.wait_log(rf"request {rid2}: awaiting_approval")
    assert e.supervisor.cli("approve", rid2, "--data-dir", str(e.data_dir)).returncode == 0
    assert e.wait_outcome(rid2)[0] == "done"


def test_a_second_request_during_a_handover_is_rejected(env, tmp_path):
    gate = tmp_path / "gate.fifo"
    os.mkfifo(gate)
    e = env()
    old_pid = start_serving(e)
    # The build waits on a FIFO: the first handover stays in building_release until the test writes to it.
    commit = e.commit(build=f'read line < "{gate}"')
    first = e.request(commit)
    e.supervisor.wait_log(rf"request {first}: building_release")
    second = e.request(commit)
    outcome, detail = e.wait_outcome(second)
    assert outcome == "rejected" and f"another handover ({first}, building_release) is in flight" in detail
    with open(gate, "w") as g:
        g.write("go\n")
    assert e.wait_outcome(first)[0] == "done"
    assert not pid_alive(old_pid)


def test_rows_written_through_the_handover_are_all_kept(env):
    """The old instance inserts every 5 ms until it is stopped, the new one from its
    start: every row the old one wrote (it says how many as it exits) is there after."""
    e = env(initial_exports="export FIXTURE_SEED_AGENTS=3 FIXTURE_WRITE_ROWS=5ms")
    old_pid = start_serving(e)
    commit = e.commit(exports="export FIXTURE_WRITE_ROWS=5ms")
    assert e.wait_outcome(e.request(commit))[0] == "done"
    logs = e.data_dir / ".supervisor" / "instances"
    import re

    def old_said():  # its log helper writes the last line a moment after the group is gone
        for log in logs.glob("*/stdout.log"):
            m = re.search(rf"fixture: pid {old_pid} wrote (\d+) rows", log.read_text())
            if m:
                return int(m.group(1))
        return None
    wrote = poll_until(old_said, 5, "the old instance's row count in its log")
    assert wrote > 10
    assert e.db_count(f"SELECT count(*) FROM executions WHERE name = 'fixture run {old_pid}'") == wrote


def test_rollback_returns_to_the_previous_release_by_the_verified_path(env):
    e = env()
    start_serving(e)
    commit = e.commit()
    assert e.wait_outcome(e.request(commit))[0] == "done"
    r = e.supervisor.cli("rollback", "--reason", "the old one was better", "--data-dir", str(e.data_dir))
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    assert e.wait_outcome(rid)[0] == "done"
    st = e.supervisor.status()
    assert st["release"] == str(e.initial)
    assert e.request_row(rid)["summary"] == "the old one was better"
    assert "building_release" in e.phases(rid)  # journaled, with nothing to build


def test_rollback_without_a_previous_release_says_so(env):
    e = env()
    start_serving(e)
    r = e.supervisor.cli("rollback", "--data-dir", str(e.data_dir))
    assert r.returncode == 1
    assert "no previous release to roll back to" in r.stderr


def test_probation_switches_back_when_the_new_release_crashes_soon_after(env):
    e = env(handover={"probation": "30s"})
    start_serving(e)
    commit = e.commit(exports="export FIXTURE_CRASH_AFTER=1500ms")
    assert e.wait_outcome(e.request(commit))[0] == "done"
    m = e.supervisor.wait_log(r"request (\S+): rollback to .* \(probation: the new release's instance .*exit code 1",
                              timeout=30)
    assert e.wait_outcome(m.group(1))[0] == "done"
    assert e.supervisor.status()["release"] == str(e.initial)


def test_stop_first_stops_the_old_instance_first_and_brings_it_back_on_failure(env):
    e = env(handover={"strategy": "stop-first"})
    old_pid = start_serving(e)
    bad = e.commit(exports="export FIXTURE_CRASH_AT_START=4", message="broken")
    outcome, detail = e.wait_outcome(e.request(bad))
    assert outcome == "rolled_back" and "the previous release runs again" in detail
    st = e.supervisor.wait_until(lambda: e.supervisor.status()["state"] == "ready" and e.supervisor.status(),
                                 timeout=20, what="the previous release serving again")
    assert st["release"] == str(e.initial) and st["pid"] != old_pid  # restarted, not kept
    good = e.commit(message="fixed")
    rid = e.request(good)
    assert e.wait_outcome(rid)[0] == "done"
    assert e.phases(rid)[:6] == ["requested", "building_release", "backing_up", "stopping_old", "starting_new",
                                 "verifying"]
    assert e.supervisor.status()["commit"] == good


def test_prune_never_deletes_the_snapshot_of_a_handover_in_flight(env):
    e = env(handover={"verify_timeout": "30s"})
    start_serving(e)
    commit = e.commit(exports="export FIXTURE_SLOW_START=3s")
    rid = e.request(commit)
    e.supervisor.wait_log(rf"request {rid}: starting_new")
    s = e.supervisor
    assert s.cli("backups", "create", "--config", str(s.config)).returncode == 0
    config = s.config.read_text().replace("[backup]", "")
    s.config.write_text(config + "\n[backup]\nkeep_last = 1\nkeep_daily = 0\n")
    r = s.cli("backups", "prune", "--config", str(s.config))
    assert r.returncode == 0, r.stderr
    assert "pinned by an unfinished handover" in r.stdout
    assert os.path.isdir(e.request_row(rid)["backup"])
    assert e.wait_outcome(rid)[0] == "done"


def test_a_new_instance_reporting_a_corrupt_database_is_rolled_back(env):
    e = env(health={"verification": "record"})
    e.write_release_files(e.initial, "export FIXTURE_SEED_AGENTS=3 FIXTURE_WRITE_VERIFICATION=1", "")
    old_pid = start_serving(e)
    rid = e.request(e.commit(exports="export FIXTURE_WRITE_VERIFICATION=corrupt"))
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rolled_back" and "integrity check failed: row 3 missing" in detail
    assert_old_still_serves(e, old_pid)


def test_stop_first_restores_the_snapshot_when_the_integrity_check_fails(env):
    e = env(health={"verification": "record"}, handover={"strategy": "stop-first"})
    e.write_release_files(e.initial, "export FIXTURE_SEED_AGENTS=3 FIXTURE_WRITE_VERIFICATION=1", "")
    start_serving(e)
    rid = e.request(e.commit(exports="export FIXTURE_WRITE_VERIFICATION=corrupt"))
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rolled_back", detail
    assert "restored " in detail and "the damaged data dir is kept at" in detail
    assert "the previous release runs again" in detail
    assert list(e.data_dir.parent.glob("data.replaced-*"))
    assert e.db_count("SELECT count(*) FROM agents") == 3


def test_a_request_written_while_no_supervisor_ran_is_taken_at_start(env):
    e = env()
    start_serving(e)
    e.supervisor.signal(signal.SIGTERM)
    assert e.supervisor.wait_exit() == 0
    rid = e.request(e.commit())  # the CLI writes the file; nobody watches
    e.supervisor.lines.clear()
    e.supervisor.start()
    assert e.wait_outcome(rid)[0] == "done"


def test_a_request_file_owned_by_another_user_is_refused(env):
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    e = env()
    old_pid = start_serving(e)
    requests = e.data_dir / ".supervisor" / "requests"
    tmp = requests / "theirs.json.tmp"
    tmp.write_text('{"branch":"agent-improvement/faster","commit":"0123abcd","summary":"s"}')
    os.chown(tmp, 65534, 65534)
    os.rename(tmp, requests / "theirs.json")
    outcome, detail = e.wait_outcome("theirs")
    assert outcome == "rejected" and "is owned by uid 65534, not the supervisor's user" in detail
    assert_old_still_serves(e, old_pid)


def test_without_verification_a_handover_is_refused(env):
    e = env(health={"verification": "none"})
    s = e.supervisor.start()
    old_pid, _ = s.started_pid()
    s.wait_log(r"instance \S+ ready")
    outcome, detail = e.wait_outcome(e.request(e.commit()))
    assert outcome == "rejected" and 'verification = "none": a handover could not verify' in detail
    assert e.supervisor.status()["pid"] == old_pid


def test_sigusr2_rescans_the_requests_folder(env, tmp_path):
    """A file that appears without a write or a rename into the folder (a hard link:
    inotify reports only its creation, which the intake does not act on) is taken
    when SIGUSR2 asks for a rescan."""
    e = env()
    start_serving(e)
    requests = e.data_dir / ".supervisor" / "requests"
    outside = e.data_dir / ".supervisor" / "late.json"  # same file system, not watched
    outside.write_text('{"branch":"agent-improvement/faster","commit":"%s","summary":"late"}' % e.commit())
    os.link(outside, requests / "late.json")
    outside.unlink()  # one link again: a file with two is refused (it could be anyone's)
    e.supervisor.signal(signal.SIGUSR2)
    rescan = e.supervisor.wait_log(r"SIGUSR2: rescanning .*requests")
    assert e.wait_outcome("late")[0] == "done"
    lines = e.supervisor.lines
    first_request_line = next(i for i, l in enumerate(lines) if "request late: requested" in l)
    rescan_line = next(i for i, l in enumerate(lines) if rescan.group(0) in l)
    assert rescan_line < first_request_line  # taken by the rescan, not by an event


def test_a_request_that_is_a_hard_link_or_a_symlink_is_refused_unread(env):
    """A hard link can name a file the writer does not own (another user's secrets);
    a symlink can point anywhere. Neither is read: only a regular file with one link."""
    e = env()
    old_pid = start_serving(e)
    requests = e.state_dir / "requests"
    secret = e.state_dir / "secret.json"  # same file system, outside the folder
    secret.write_text('{"branch":"agent-improvement/faster","commit":"%s","summary":"s"}' % e.commit())
    os.link(secret, requests / "linked.json.tmp")
    os.rename(requests / "linked.json.tmp", requests / "linked.json")
    outcome, detail = e.wait_outcome("linked")
    assert outcome == "rejected" and "linked.json has 2 links" in detail
    os.symlink(secret, requests / "pointing.json.tmp")
    os.rename(requests / "pointing.json.tmp", requests / "pointing.json")
    outcome, detail = e.wait_outcome("pointing")
    assert outcome == "rejected" and "pointing.json is not a regular file" in detail
    assert secret.exists()  # never moved or changed
    assert_old_still_serves(e, old_pid)


def test_when_idle_the_restart_waits_for_the_running_execution_and_starts_soon_after_it_ends(env):
    """The seed's "after this run completes": the release is built at once, then the
    switch waits while [handover] idle_query counts a running execution."""
    e = env()
    old_pid = start_serving(e)
    db = sqlite3.connect(e.data_dir / "agentron.sqlite", timeout=10)
    db.execute("INSERT INTO executions (name, status) VALUES ('the agent run that asked', 'running')")
    db.commit()
    rid = e.request(e.commit(), when="idle")
    e.supervisor.wait_log(rf"request {rid}: waiting_for_idle — 1 run\(s\) executing", timeout=30)
    row = e.request_row(rid)
    assert row["state"] == "waiting_for_idle"
    assert e.supervisor.status()["pid"] == old_pid  # the old instance serves on
    db.execute("UPDATE executions SET status = 'completed'")
    db.commit()
    finished = time.monotonic()
    e.supervisor.wait_log(rf"request {rid}: backing_up", timeout=10)
    waited = time.monotonic() - finished
    assert waited < 1.0, f"the handover went on {waited:.2f}s after the run ended"
    assert e.wait_outcome(rid)[0] == "done"
    assert [p["phase"] for p in e.request_row(rid)["phases"]][:4] == [
        "requested", "building_release", "waiting_for_idle", "backing_up"]
    db.close()


def test_a_request_id_used_before_is_refused_and_its_row_stays_as_it_was(env):
    """Whoever writes requests must not rewrite someone else's: an id already in the
    ledger or the archive is refused, the row untouched (red team, finding 4)."""
    e = env()
    start_serving(e)
    first = e.commit()
    rid = e.request(first, summary="the operator's reviewed change")
    assert e.wait_outcome(rid)[0] == "done"
    before = e.request_row(rid)
    second = e.commit(message="another change")
    requests = e.state_dir / "requests"
    (requests / "again.tmp").write_text(json.dumps({"branch": BRANCH, "commit": second, "summary": "forged"}))
    os.rename(requests / "again.tmp", requests / f"{rid}.json")
    e.supervisor.wait_log(rf"request file {rid}\.json: refused: request id {rid} was used before")
    assert e.request_row(rid) == before
    archive = e.state_dir / "request-archive"
    assert json.loads((archive / "processed" / f"{rid}.json").read_text())["commit"] == first
    assert "used before" in (archive / "rejected" / f"{rid}.reason").read_text()
    assert stat.S_IMODE(os.stat(e.state_dir / "history.sqlite").st_mode) == 0o600
