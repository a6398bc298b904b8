"""Backups of a live data dir: consistent while the app writes, atomic under SIGKILL,
clean on write errors, symlinks and FIFOs handled, and a restore round trip."""
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time

from harness import SUPERVISOR, poll_until

BACKUP = [str(SUPERVISOR), "backups"]


def backups(s, *args, check=True, timeout=120):
    r = subprocess.run([*BACKUP, *args, "--config", str(s.config)], capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def listed(s):
    return json.loads(backups(s, "list", "--json").stdout)["data"]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root, skip=(".supervisor", "backups")):
    """{relative path: sha256} of every regular file, except the supervisor's folders and the DB."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            path = root / rel
            if not path.is_symlink() and path.is_file() and not rel.startswith("agentron.sqlite"):
                out[rel] = sha256(path)
    return out


def runs(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT count(*) FROM executions").fetchone()[0]
    finally:
        db.close()


def make_files(data_dir, count=20, size=20_000):
    files = data_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    for i in range(count):
        (files / f"f{i:04d}.bin").write_bytes(rng.randbytes(size))


def writing_app(supervisor, journal_mode):
    s = supervisor(app={"env": {"FIXTURE_WRITE_ROWS": "0.2ms", "FIXTURE_SYNCHRONOUS": "OFF",
                                "FIXTURE_JOURNAL_MODE": journal_mode, "FIXTURE_SEED_AGENTS": "3"}})
    pid, _ = s.started_pid()
    s.wait_serving(expect_pid=pid)
    make_files(s.data_dir)
    db = s.data_dir / "agentron.sqlite"
    poll_until(lambda: runs(db) > 500, 10, "the app writing rows")
    return s, db


def check_snapshot_of_writing_app(supervisor, journal_mode):
    s, db = writing_app(supervisor, journal_mode)
    before = runs(db)
    created = json.loads(backups(s, "create", "--json").stdout)["data"]
    after = runs(db)
    assert after > before, "the app must have kept writing"
    counts = created["databases"]["agentron.sqlite"]["counts"]
    assert created["databases"]["agentron.sqlite"]["integrity"] == "ok"
    assert before <= counts["executions"] <= after
    assert counts["agents"] == 3
    snap = s.data_dir / "backups" / created["name"]
    # The copy passes integrity_check on its own, outside the tool.
    copy = sqlite3.connect(f"file:{snap / 'agentron.sqlite'}?immutable=1", uri=True)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM executions").fetchone()[0] == counts["executions"]
    copy.close()
    assert not any(p.name.endswith(("-journal", "-wal", "-shm")) for p in snap.iterdir())
    live = tree_hashes(s.data_dir)
    assert live and tree_hashes(snap, skip=()) == {**live, "manifest.json": sha256(snap / "manifest.json")}
    assert backups(s, "verify", created["name"]).returncode == 0
    return s


def test_snapshot_while_the_app_writes_rollback_journal(supervisor):
    check_snapshot_of_writing_app(supervisor, "DELETE")


def test_snapshot_while_the_app_writes_wal(supervisor):
    check_snapshot_of_writing_app(supervisor, "WAL")


def test_second_snapshot_hard_links_unchanged_files(supervisor):
    s = supervisor()
    s.started_pid()
    make_files(s.data_dir, count=10)
    hour_ago = time.time() - 3600
    for f in (s.data_dir / "files").iterdir():
        os.utime(f, (hour_ago, hour_ago))
    (s.data_dir / "files" / "fresh.bin").write_bytes(b"written just now")
    first = json.loads(backups(s, "create", "--json").stdout)["data"]
    (s.data_dir / "files" / "f0003.bin").write_bytes(b"changed")
    second = json.loads(backups(s, "create", "--json").stdout)["data"]
    assert first["linked_files"] == 0
    # f0003 changed; fresh.bin had an mtime too close to the first snapshot to be
    # trusted (a same-tick write after it was read would not show): both copied.
    assert second["linked_files"] == 9
    a, b = (s.data_dir / "backups" / n / "files" for n in (first["name"], second["name"]))
    assert os.stat(a / "f0001.bin").st_ino == os.stat(b / "f0001.bin").st_ino
    assert os.stat(a / "f0003.bin").st_ino != os.stat(b / "f0003.bin").st_ino
    assert (b / "f0003.bin").read_bytes() == b"changed"
    assert os.stat(a / "fresh.bin").st_ino != os.stat(b / "fresh.bin").st_ino


def test_an_unchanged_database_is_linked_one_with_pending_writes_is_copied(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    db_path = s.data_dir / "agentron.sqlite"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE agents (id INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO agents DEFAULT VALUES")
    db.commit()
    db.close()
    hour_ago = time.time() - 3600
    os.utime(db_path, (hour_ago, hour_ago))
    first = json.loads(backups(s, "create", "--json").stdout)["data"]
    second = json.loads(backups(s, "create", "--json").stdout)["data"]
    assert second["linked_files"] == 1
    assert second["databases"]["agentron.sqlite"] == first["databases"]["agentron.sqlite"]
    # A transaction in flight (its journal exists): copied through SQLite, not linked.
    (s.data_dir / "agentron.sqlite-journal").write_bytes(b"")
    third = json.loads(backups(s, "create", "--json").stdout)["data"]
    assert third["linked_files"] == 0
    assert third["databases"]["agentron.sqlite"]["integrity"] == "ok"


def test_sigkill_at_random_points_never_lists_an_incomplete_snapshot(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=150, size=100_000)  # ~15 MB: a snapshot takes a while
    db = sqlite3.connect(s.data_dir / "agentron.sqlite")
    db.execute("CREATE TABLE agents (id INTEGER PRIMARY KEY, blob BLOB)")
    db.executemany("INSERT INTO agents (blob) VALUES (?)", [(os.urandom(10_000),) for _ in range(300)])
    db.commit()
    db.close()
    files = sorted((s.data_dir / "files").iterdir())

    def touch_all(stamp):  # every snapshot a full copy, so each takes about as long
        for f in files:
            os.utime(f, (stamp, stamp))

    backup_dir = s.data_dir / "backups"
    backup_dir.mkdir()

    def in_progress(since=0.0):
        """A .tmp- folder changed since `since`: a snapshot being built (not a leftover)."""
        for p in backup_dir.iterdir():
            try:
                if p.name.startswith(".tmp-") and p.stat().st_ctime >= since:
                    return True
            except FileNotFoundError:
                pass
        return False

    def start_snapshot():
        started = time.time() - 0.01
        p = subprocess.Popen([*BACKUP, "create", "--config", str(s.config)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        poll_until(lambda: p.poll() is not None or in_progress(started), 30, "the snapshot to start", interval=0.001)
        return p, started

    # Learn how long the building phase takes (from its .tmp- folder to the rename),
    # whatever the build (sanitizers make start-up and exit much slower).
    touch_all(1_000_000)
    p, _ = start_snapshot()
    began = time.monotonic()
    poll_until(lambda: not in_progress(), 60, "the snapshot to finish", interval=0.001)
    building = time.monotonic() - began
    p.wait()
    rng = random.Random(42)
    mid_snapshot = 0
    for i in range(50):
        touch_all(1_000_001 + i)
        p, started = start_snapshot()
        try:
            p.wait(timeout=rng.uniform(0.0, building))
        except subprocess.TimeoutExpired:
            mid_snapshot += in_progress(started)
            p.send_signal(signal.SIGKILL)
        p.wait()
        for snap in listed(s):
            assert (backup_dir / snap["name"] / "manifest.json").exists()
    assert mid_snapshot >= 25, f"only {mid_snapshot} of 50 kills landed mid-snapshot"
    r = backups(s, "verify")  # every listed snapshot is complete and intact
    assert "DAMAGED" not in r.stdout
    leftovers = [p.name for p in backup_dir.iterdir() if p.name.startswith(".tmp-")]
    r = backups(s, "create")
    for name in leftovers:
        assert f"removed {name}, left by an interrupted snapshot" in r.stderr
    assert not [p for p in (s.data_dir / "backups").iterdir() if p.name.startswith(".tmp-")]


def test_a_write_error_fails_cleanly_and_changes_nothing(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=5, size=300_000)
    live_before = tree_hashes(s.data_dir)
    r = subprocess.run(["prlimit", "--fsize=200000", "--", *BACKUP, "create", "--config", str(s.config)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "File too large" in r.stderr and "cannot write" in r.stderr
    assert listed(s) == []
    assert not [p for p in (s.data_dir / "backups").iterdir() if p.name.startswith(".tmp-")]
    assert tree_hashes(s.data_dir) == live_before


def test_symlinks_are_kept_not_followed_and_fifos_skipped(supervisor, tmp_path):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    secret = tmp_path / "outside-secret"
    secret.write_text("not part of the data dir")
    (s.data_dir / "to-outside").symlink_to(secret)
    (s.data_dir / "inside.txt").write_text("in")
    (s.data_dir / "to-inside").symlink_to("inside.txt")
    os.mkfifo(s.data_dir / "a-fifo")
    r = backups(s, "create", "--json")
    assert "a-fifo: FIFO: not a file, skipped" in r.stderr
    snap = s.data_dir / "backups" / json.loads(r.stdout)["data"]["name"]
    assert (snap / "to-outside").is_symlink() and os.readlink(snap / "to-outside") == str(secret)
    assert os.readlink(snap / "to-inside") == "inside.txt"
    assert not (snap / "a-fifo").exists()
    assert "not part of the data dir" not in "".join(p.read_text() for p in snap.iterdir()
                                                       if p.is_file() and not p.is_symlink() and p.suffix == ".txt")


def test_restore_round_trip_with_the_app_running(supervisor):
    s = supervisor(app={"env": {"FIXTURE_SEED_AGENTS": "5"}})
    pid, _ = s.started_pid()
    s.wait_serving(expect_pid=pid)
    make_files(s.data_dir, count=5)
    snapshot = json.loads(backups(s, "create", "--json").stdout)["data"]["name"]
    snapshot_files = tree_hashes(s.data_dir)
    (s.data_dir / "files" / "f0000.bin").write_bytes(b"edited after the snapshot")
    (s.data_dir / "files" / "new.txt").write_text("created after the snapshot")
    live = sqlite3.connect(s.data_dir / "agentron.sqlite", timeout=30)
    live.execute("DELETE FROM agents")
    live.commit()
    live.close()

    r = backups(s, "restore", snapshot, check=False)
    assert r.returncode == 1 and "pass --stop" in r.stderr
    assert s.status()["pid"] == pid  # refused: nothing touched

    mark = len(s.lines)
    r = backups(s, "restore", snapshot, "--stop")
    assert "the app was started again" in r.stdout
    new_pid, _ = s.started_pid(start=mark)
    info = s.wait_serving(expect_pid=new_pid)
    assert info["agents"] == 5
    assert tree_hashes(s.data_dir) == snapshot_files
    replaced = [p for p in s.tmp.iterdir() if p.name.startswith("data.replaced-")]
    assert len(replaced) == 1
    assert (replaced[0] / "files" / "new.txt").read_text() == "created after the snapshot"
    assert (replaced[0] / "files" / "f0000.bin").read_bytes() == b"edited after the snapshot"
    r = s.cli("history", "--json", "--data-dir", str(s.data_dir))
    restored = [e for e in json.loads(r.stdout)["events"] if e["kind"] == "backup_restored"]
    assert len(restored) == 1 and restored[0]["detail"].startswith(snapshot), restored
    assert str(replaced[0]) in restored[0]["detail"]
    assert not (s.data_dir / ".supervisor" / "restores.log").exists()
    assert [b["name"] for b in listed(s)] == [snapshot]  # the backups came along


def test_verify_names_what_differs(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=3)
    name = json.loads(backups(s, "create", "--json").stdout)["data"]["name"]
    snap = s.data_dir / "backups" / name
    target = snap / "files" / "f0001.bin"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    (snap / "files" / "f0002.bin").unlink()
    (snap / "stray.txt").write_text("x")
    r = backups(s, "verify", name, check=False)
    assert r.returncode == 1
    assert "files/f0001.bin: content differs" in r.stdout
    assert "files/f0002.bin: missing" in r.stdout
    assert "stray.txt: not in the manifest" in r.stdout
    assert listed(s)[0]["verified"] is False


def test_prune_keeps_the_policy_and_the_newest_verified(supervisor):
    s = supervisor(start=False, extra={"backup": {"keep_last": 2, "keep_daily": 0}})
    s.data_dir.mkdir()
    (s.data_dir / "a.txt").write_text("a")
    names = [json.loads(backups(s, "create", "--json").stdout)["data"]["name"] for _ in range(4)]
    backups(s, "verify", names[0])
    r = backups(s, "prune", "--dry-run")
    assert "would" in r.stdout
    assert [b["name"] for b in listed(s)] == names
    pruned = json.loads(backups(s, "prune", "--json").stdout)["data"]
    assert [p["name"] for p in pruned if p["removed"]] == [names[1]]
    assert [b["name"] for b in listed(s)] == [names[0], names[2], names[3]]


def test_supervisor_start_removes_interrupted_snapshot_folders(supervisor):
    s = supervisor(start=False)
    leftover = s.data_dir / "backups" / ".tmp-manual-20260101T000000Z"
    (leftover / "files").mkdir(parents=True)
    (leftover / "files" / "half.bin").write_bytes(b"x" * 1000)
    s.start()
    s.wait_log(r"removed .*\.tmp-manual-20260101T000000Z: an interrupted snapshot")
    assert not leftover.exists()
    assert listed(s) == []


def test_not_enough_free_space_is_refused_before_writing(supervisor, tmp_path):
    small = tmp_path / "small-disk"
    small.mkdir()
    s = supervisor(start=False, extra={"backup": {"dir": str(small)}})
    s.data_dir.mkdir()
    make_files(s.data_dir, count=10, size=100_000)
    live_before = tree_hashes(s.data_dir)
    # An 8 MiB file system of our own, in a private mount namespace (needs root).
    script = f'mount -t tmpfs -o size=8m tmpfs "{small}" && exec "$@"'
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *BACKUP, "create", "--config", str(s.config)],
                       capture_output=True, text=True, timeout=60)
    if "mount" in r.stderr and "permission denied" in r.stderr.lower():
        import pytest
        pytest.skip("cannot mount a tmpfs here")
    assert r.returncode == 1, r.stderr
    assert f"not enough free space for a snapshot in {small}: it needs about" in r.stderr
    assert "set [backup] dir on a larger disk" in r.stderr
    assert tree_hashes(s.data_dir) == live_before
