"""The privilege-separation red team's race, kept as a regression test (docs/security.md,
"What the red team found"): while root gave the release build folder to the app's user
by path, top folder first, the app swapped a folder it was walking for a symlink and
root chowned a file of its choice — here a root-only one — to the app's user. It won
every run before the fix (the folder is now given by descriptors, its top last); the
test runs the same attack and asserts the file stays root's."""
import ctypes
import ctypes.util
import json
import os
import pwd
import select
import shutil
import struct
import tempfile
import time
from pathlib import Path

import pytest

from handover_env import HandoverEnv
from harness import FIXTURE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
NOBODY = pwd.getpwnam("nobody")
LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
IN_CREATE, IN_ATTRIB = 0x100, 0x4
FOLDERS = 3000  # in the commit's d/: the time root spends walking inside it


def renameat2_exchange(a, b):
    if LIBC.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Inotify:
    def __init__(self):
        self.fd = LIBC.inotify_init1(os.O_CLOEXEC)

    def add(self, path, mask):
        if LIBC.inotify_add_watch(self.fd, os.fsencode(str(path)), mask) < 0:
            raise OSError(ctypes.get_errno(), str(path))

    def names(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        buf, out, at = os.read(self.fd, 1 << 16), [], 0
        while at < len(buf):
            _, _, _, n = struct.unpack_from("iIII", buf, at)
            out.append(buf[at + 16: at + 16 + n].split(b"\0", 1)[0].decode())
            at += 16 + n
        return out


def become_nobody():
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


def attacker(releases, own_dir, victim_dir, ready_fd, deadline):
    """As the app's user: once a build folder is its own, swap the folder root walks."""
    for i in range(FOLDERS):
        os.symlink(victim_dir, own_dir / f"s{i:04d}")
    watch = Inotify()
    watch.add(releases, IN_CREATE | IN_ATTRIB)
    os.write(ready_fd, b"ready")
    os.close(ready_fd)
    build = None
    while time.monotonic() < deadline and build is None:
        for name in watch.names(0.2):
            if name.startswith(".tmp-") and os.lstat(releases / name).st_uid == NOBODY.pw_uid:
                build = releases / name
    if build is None:
        return
    (build / ".zlink").symlink_to(own_dir)
    watch.add(build / "d", IN_ATTRIB)
    while time.monotonic() < deadline:
        if [n for n in watch.names(0.2) if n]:  # an entry of d/ was given away: root is inside d/
            renameat2_exchange(build / "d", build / ".zlink")
            return


def test_the_build_folder_handover_cannot_be_steered_to_chown_root_s_files():
    tmp = Path(tempfile.mkdtemp(prefix="agentron-race-"))
    tmp.chmod(0o755)
    shutil.copy2(FIXTURE, tmp / "agentron-fixture")
    state = tmp / "state"
    e = HandoverEnv(tmp, app={"user": "nobody", "state_dir": str(state)}, fixture=tmp / "agentron-fixture",
                    fork={"releases_dir": str(state / "releases")})
    pid = None
    try:
        victim_dir = tmp / "root-only"
        victim_dir.mkdir()
        victim_dir.chmod(0o711)
        victim = victim_dir / "victim"
        victim.write_text("ROOT-ONLY\n")
        victim.chmod(0o600)
        s = e.supervisor
        s.start()
        s.wait_log(r"instance \S+ verified: agents 3")
        requests = state / "requests"

        def submit(name, commit, summary):
            (requests / f"{name}.tmp").write_text(json.dumps({"branch": "agent-improvement/faster", "commit": commit,
                                                               "summary": summary}))
            os.rename(requests / f"{name}.tmp", requests / f"{name}.json")
        submit("first", e.commit(message="a first release, so releases_dir exists"), "first")
        assert e.wait_outcome("first", timeout=60)[0] == "done"
        for i in range(FOLDERS):
            (e.dev / "d" / f"s{i:04d}").mkdir(parents=True)
            (e.dev / "d" / f"s{i:04d}" / "victim").write_text("x\n")
        commit = e.commit(message="an innocent-looking tree")
        own_dir = e.data_dir / "X"
        own_dir.mkdir()
        os.chown(own_dir, NOBODY.pw_uid, NOBODY.pw_gid)
        r, w = os.pipe()
        deadline = time.monotonic() + 120
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                become_nobody()
                attacker(state / "releases", own_dir, victim_dir, w, deadline)
            finally:
                os._exit(0)
        os.close(w)
        ready, _, _ = select.select([r], [], [], 30)
        assert ready and os.read(r, 5) == b"ready"
        os.close(r)
        submit("race", commit, "race")
        e.wait_outcome("race", timeout=120)
        st = os.lstat(victim)
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600), "root chowned or chmodded a file the app chose"
    finally:
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        e.supervisor.close()
        e.supervisor.kill_leftover_app()
        shutil.rmtree(tmp, ignore_errors=True)
