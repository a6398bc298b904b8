"""Backups the app cannot poison (docs/security.md, "Backups"): anything that can write
the data dir — and so the default backup dir inside it — plants or edits snapshots
here, as an agent with the app's file access could. A planted manifest never makes a
restore write outside the data dir; a forged or edited snapshot fails verify, is never
restored, never the base of an incremental snapshot, and neither counted nor deleted
by prune; a snapshot without a MAC (as older versions wrote) is restorable only on
request."""
import hashlib
import json
import os
import shutil
import stat

import pytest

from test_backups import backups, listed, make_files, tree_hashes

FUTURE = "manual-20991231T000000Z"


def created(s):
    return json.loads(backups(s, "create", "--json").stdout)["data"]


def snapshot_dir(s, name):
    return s.data_dir / "backups" / name


def edit_manifest(snap, edit):
    manifest = json.loads((snap / "manifest.json").read_text())
    edit(manifest)
    (snap / "manifest.json").write_text(json.dumps(manifest, indent=1))


def forge(s, real, name, keep_mac=False, edit=lambda m, snap: None):
    """A copy of snapshot `real` (new inodes) named `name`, as an agent would make it."""
    snap = snapshot_dir(s, name)
    shutil.copytree(snapshot_dir(s, real), snap, symlinks=True)
    (snap / "verify.json").unlink(missing_ok=True)

    def change(m):
        m["name"] = name
        m["created_at"] = f"{name[7:11]}-{name[11:13]}-{name[13:15]}T00:00:00Z"
        if not keep_mac:
            m.pop("hmac", None)
        edit(m, snap)
    edit_manifest(snap, change)
    return snap


def entry(path, content=b"", mode=0o644, kind="file", target=""):
    e = {"path": path, "type": kind, "mode": mode, "mtime_ns": 0}
    if kind == "file":
        e.update(size=len(content), sha256=hashlib.sha256(content).hexdigest())
    if kind == "symlink":
        e["target"] = target
    return e


def surroundings(s):
    """What lies beside the data dir (and one level up): a restore must add nothing there."""
    return sorted(os.listdir(s.tmp)), sorted(os.listdir(s.tmp.parent))


def restored_or_replaced(s):
    return [p.name for p in s.tmp.iterdir() if p.name.startswith(("data.restoring-", "data.replaced-"))]


# Each attack adds entries to a real snapshot's manifest (and puts the files where the
# entries say, so that only the checks stop it), drops the MAC so that it looks like a
# snapshot of an older version, and names the problem `verify` must report.
def escape_up(m, snap):
    (snap.parent / "escaped.txt").write_bytes(b"escaped")  # snap / "../escaped.txt"
    m["entries"].append(entry("../escaped.txt", b"escaped"))
    return "../escaped.txt: a '..' path component"


def escape_two_up(m, snap):
    (snap.parent.parent / "outside").mkdir(exist_ok=True)
    (snap.parent.parent / "outside" / "x").write_bytes(b"x")
    m["entries"].append(entry("../../outside/x", b"x"))
    return "../../outside/x: a '..' path component"


def absolute(m, snap):
    target = snap.parent.parent.parent / "outside" / "abs.txt"
    m["entries"].append(entry(str(target), b"abs"))
    return f"{target}: an absolute path"


def file_under_symlink(m, snap):
    outside = snap.parent.parent.parent / "outside"
    (snap / "d").symlink_to(outside)
    m["entries"] += [entry("d", kind="symlink", mode=0o777, target=str(outside)), entry("d/x", b"via link")]
    return "d/x: under d, which is a symlink"


def setuid(m, snap):
    (snap / "suid").write_bytes(b"#!/bin/sh\n")
    os.chmod(snap / "suid", 0o4755)
    m["entries"].append(entry("suid", b"#!/bin/sh\n", mode=0o4755))
    return "suid: mode 4755: setuid, setgid and sticky bits are never restored"


def setgid_sticky_dir(m, snap):
    (snap / "shared").mkdir()
    m["entries"].append(entry("shared", kind="dir", mode=0o3777))
    return "shared: mode 3777: setuid, setgid and sticky bits are never restored"


@pytest.mark.parametrize("attack", [escape_up, escape_two_up, absolute, file_under_symlink, setuid, setgid_sticky_dir])
def test_a_planted_entry_fails_verify_and_restore_writes_nothing(supervisor, attack):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=3)
    outside = s.tmp / "outside"
    outside.mkdir()
    real = created(s)["name"]
    problem = []
    forge(s, real, "manual-20270101T000000Z", edit=lambda m, snap: problem.append(attack(m, snap)))
    live, around = tree_hashes(s.data_dir), surroundings(s)

    r = backups(s, "verify", "manual-20270101T000000Z", check=False)
    assert r.returncode == 1
    assert "manual-20270101T000000Z: UNTRUSTED" in r.stdout
    assert f"  {problem[0]}\n" in r.stdout, r.stdout
    listing = {b["name"]: b for b in listed(s)}
    assert listing["manual-20270101T000000Z"]["trust"] == "untrusted"
    assert listing[real]["trust"] == "authenticated"

    for flags in ([], ["--allow-unauthenticated"]):
        r = backups(s, "restore", "manual-20270101T000000Z", *flags, check=False)
        assert r.returncode == 1
        assert f"snapshot manual-20270101T000000Z is untrusted ({problem[0]}); it is never restored" in r.stderr
    assert list(outside.iterdir()) == []
    assert surroundings(s) == around and restored_or_replaced(s) == []
    assert tree_hashes(s.data_dir) == live


@pytest.mark.parametrize("keep_mac", [False, True], ids=["mac-removed", "mac-kept"])
def test_prune_neither_counts_nor_deletes_a_forged_future_snapshot(supervisor, keep_mac):
    s = supervisor(start=False, extra={"backup": {"keep_last": 2, "keep_daily": 0}})
    s.data_dir.mkdir()
    (s.data_dir / "a.txt").write_text("a")
    real = [created(s)["name"] for _ in range(3)]
    forged = [forge(s, real[-1], FUTURE, keep_mac), forge(s, real[-1], "manual-20991230T000000Z", keep_mac)]
    trust = "untrusted" if keep_mac else "unauthenticated"
    assert {b["name"]: b["trust"] for b in listed(s)} == {**{n: "authenticated" for n in real},
                                                          FUTURE: trust, "manual-20991230T000000Z": trust}

    plan = backups(s, "prune", "--dry-run")
    assert f"skip    {FUTURE}" in plan.stdout and "prune never deletes it" in plan.stdout
    pruned = json.loads(backups(s, "prune", "--json").stdout)["data"]
    # Counted, the two forgeries would be "the last 2" and every real snapshot would go.
    assert [p["name"] for p in pruned if p["removed"]] == [real[0]]
    for f in forged:
        (row,) = [p for p in pruned if p["name"] == f.name]
        assert row["keep"] and not row["removed"] and row["trust"] == trust
        assert row["reason"].startswith(f"not counted: {trust} (")
        assert f.is_dir()
    assert [b["name"] for b in listed(s) if b["trust"] == "authenticated"] == real[1:]


@pytest.mark.parametrize("keep_mac", [False, True], ids=["mac-removed", "mac-kept"])
def test_the_next_snapshot_never_hard_links_from_a_forged_one(supervisor, keep_mac):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=5)
    hour_ago = 1_700_000_000
    for f in (s.data_dir / "files").iterdir():
        os.utime(f, (hour_ago, hour_ago))
    base = created(s)["name"]

    def poison(m, snap):
        # The forger's own content, with a manifest that agrees with it.
        victim = snap / "files" / "f0001.bin"
        victim.chmod(0o644)
        victim.write_bytes(b"poisoned")
        os.utime(victim, (hour_ago, hour_ago))
        for e in m["entries"]:
            if e["path"] == "files/f0001.bin":
                e.update(size=8, sha256=hashlib.sha256(b"poisoned").hexdigest())
    forged = forge(s, base, FUTURE, keep_mac, edit=poison)
    if not keep_mac:  # the old code's own verify found nothing wrong with it
        r = backups(s, "verify", FUTURE, check=False)
        assert "UNAUTHENTICATED" in r.stdout and "content differs" not in r.stdout

    new = created(s)
    assert new["linked_files"] == 5  # linked, from the real snapshot
    snap = snapshot_dir(s, new["name"])
    for f in (snap / "files").iterdir():
        assert os.stat(f).st_ino != os.stat(forged / "files" / f.name).st_ino
        assert os.stat(f).st_ino == os.stat(snapshot_dir(s, base) / "files" / f.name).st_ino
    assert (snap / "files" / "f0001.bin").read_bytes() == (s.data_dir / "files" / "f0001.bin").read_bytes()
    assert backups(s, "verify", new["name"]).returncode == 0


def test_an_edited_manifest_fails_verify_and_is_never_restored(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    make_files(s.data_dir, count=3)
    name = created(s)["name"]
    snap = snapshot_dir(s, name)
    backups(s, "verify", name)

    def change_one_hash(m):
        e = next(e for e in m["entries"] if e["path"] == "files/f0001.bin")
        e["sha256"] = "0" * 64
    edit_manifest(snap, change_one_hash)
    live = tree_hashes(s.data_dir)

    r = backups(s, "verify", name, check=False)
    assert r.returncode == 1
    assert f"{name}: UNTRUSTED" in r.stdout
    assert "manifest.json: its MAC does not match: edited, forged, or sealed with another key" in r.stdout
    assert "files/f0001.bin: content differs" in r.stdout
    (row,) = listed(s)
    assert row["trust"] == "untrusted" and row["verified"] is None  # its old verify.json no longer counts
    r = backups(s, "restore", name, "--allow-unauthenticated", check=False)
    assert r.returncode == 1 and "is untrusted" in r.stderr
    assert tree_hashes(s.data_dir) == live and restored_or_replaced(s) == []


def test_an_edited_or_copied_verify_record_is_ignored(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    (s.data_dir / "a.txt").write_text("a")
    first, second = created(s)["name"], created(s)["name"]
    backups(s, "verify", first)
    assert [b["verified"] for b in listed(s)] == [True, None]
    # Copied to another snapshot: bound to the first one's manifest.
    shutil.copy(snapshot_dir(s, first) / "verify.json", snapshot_dir(s, second) / "verify.json")
    # Edited: "ok" without a MAC.
    record = json.loads((snapshot_dir(s, first) / "verify.json").read_text())
    (snapshot_dir(s, first) / "verify.json").write_text(json.dumps({**record, "problems": ["x"], "ok": True}))
    assert [b["verified"] for b in listed(s)] == [None, None]


def test_a_snapshot_without_a_mac_is_listed_and_restorable_only_on_request(supervisor):
    """What a snapshot of an older version looks like: the same manifest, no "hmac"."""
    s = supervisor(start=False, extra={"backup": {"keep_last": 1, "keep_daily": 0}})
    s.data_dir.mkdir()
    make_files(s.data_dir, count=3)
    for f in (s.data_dir / "files").iterdir():
        os.utime(f, (1_700_000_000, 1_700_000_000))
    old = created(s)["name"]
    edit_manifest(snapshot_dir(s, old), lambda m: m.pop("hmac"))
    snapshot_files = tree_hashes(s.data_dir)

    r = backups(s, "list")
    assert "unauthenticated (older version?)" in r.stdout
    assert f"{old} is unauthenticated, never used as a base nor pruned" in r.stdout
    r = backups(s, "verify", old, check=False)
    assert r.returncode == 1 and f"{old}: UNAUTHENTICATED" in r.stdout
    assert "content differs" not in r.stdout and "missing" not in r.stdout  # its files match it

    new = created(s)
    assert new["linked_files"] == 0  # never an incremental base
    pruned = json.loads(backups(s, "prune", "--json").stdout)["data"]
    assert not any(p["removed"] for p in pruned)  # keep_last 1: the new one; the old one is not counted
    assert snapshot_dir(s, old).is_dir()

    (s.data_dir / "files" / "f0000.bin").write_bytes(b"changed since")
    r = backups(s, "restore", old, check=False)
    assert r.returncode == 1 and "--allow-unauthenticated" in r.stderr and "nothing was changed" in r.stderr
    assert restored_or_replaced(s) == []
    r = backups(s, "restore", old, "--allow-unauthenticated")
    assert tree_hashes(s.data_dir) == snapshot_files


def test_setuid_setgid_and_sticky_bits_are_not_kept(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    (s.data_dir / "tool").write_bytes(b"#!/bin/sh\n")
    os.chmod(s.data_dir / "tool", 0o4755)
    (s.data_dir / "shared").mkdir()
    os.chmod(s.data_dir / "shared", 0o3775)
    r = backups(s, "create", "--json")
    assert "tool: mode 4755: its setuid/setgid/sticky bits are not kept" in r.stderr
    assert "shared: mode 3775: its setuid/setgid/sticky bits are not kept" in r.stderr
    name = json.loads(r.stdout)["data"]["name"]
    assert stat.S_IMODE(os.stat(snapshot_dir(s, name) / "tool").st_mode) == 0o755
    assert backups(s, "verify", name).returncode == 0
    backups(s, "restore", name)
    assert stat.S_IMODE(os.stat(s.data_dir / "tool").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(s.data_dir / "shared").st_mode) == 0o775


def test_the_key_is_the_supervisors_own_and_others_cannot_read_it(supervisor):
    s = supervisor(start=False)
    s.data_dir.mkdir()
    (s.data_dir / "a.txt").write_text("a")
    key = s.data_dir / ".supervisor" / "backup.key"
    assert not key.exists()
    r = backups(s, "create")
    assert f"warning: created the backup key {key}" in r.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "created the backup key" not in backups(s, "create").stderr
    os.chmod(key, 0o644)
    r = backups(s, "create", check=False)
    assert r.returncode == 1 and "can be read or written by others" in r.stderr
    assert [(b["trust"], "can be read or written by others" in b["distrust"][0]) for b in listed(s)] == [
        ("untrusted", True)] * 2
    os.chmod(key, 0o600)
    assert [b["trust"] for b in listed(s)] == ["authenticated"] * 2


def test_a_lost_key_makes_earlier_snapshots_untrusted_never_deleted(supervisor):
    """Documented recovery: put the key back, or drop a snapshot's "hmac" and restore it
    with --allow-unauthenticated."""
    s = supervisor(start=False, extra={"backup": {"keep_last": 1, "keep_daily": 0}})
    s.data_dir.mkdir()
    (s.data_dir / "a.txt").write_text("before")
    first = created(s)["name"]
    key = s.data_dir / ".supervisor" / "backup.key"
    kept = key.read_bytes()
    key.unlink()
    r = backups(s, "create")
    assert "created the backup key" in r.stderr
    rows = {b["name"]: b for b in listed(s)}
    assert rows[first]["trust"] == "untrusted"
    assert "its MAC does not match" in rows[first]["distrust"][0]
    assert not any(p["removed"] for p in json.loads(backups(s, "prune", "--json").stdout)["data"])
    edit_manifest(snapshot_dir(s, first), lambda m: m.pop("hmac"))
    (s.data_dir / "a.txt").write_text("after")
    backups(s, "restore", first, "--allow-unauthenticated")
    assert (s.data_dir / "a.txt").read_text() == "before"
    key.chmod(0o600)
    key.write_bytes(kept)  # the old key back: the second snapshot is untrusted now
    assert [b["trust"] for b in listed(s)] == ["unauthenticated", "untrusted"]
