"""`agentron-fork release` as root with `[app] user`: the build — the fork's own code,
i.e. the agent's — runs as the app's user, and the release it made is sealed: copied
by root into a root-owned folder that user cannot change, now or later (a process the
build leaves behind keeps a writable fd; a chown would not stop it). Everything
privileged stays root's: the token, the fetch into the mirror, the log.
docs/security.md, "Running the app as its own user"."""
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fork_env import FORK, TOKEN, Repos, files_containing, git
from harness import poll_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping the build to another user needs root")
NOBODY = pwd.getpwnam("nobody")

# The agent's build, as nobody, in the build folder. $RELEASES and $MARKS come from
# agentron-fork's environment; $MARKS is a folder of nobody's outside releases_dir,
# where the build reports what it managed to do.
BUILD = r'''
id -u > uid.txt
id -G > groups.txt
echo "$HOME" > home.txt
# Writes outside its own folder: releases_dir, the mirror, a release of its own.
(echo x > "$RELEASES/planted") 2>/dev/null && : > "$MARKS/wrote-releases"
(echo x > "$RELEASES/.fork.git/planted") 2>/dev/null && : > "$MARKS/wrote-mirror"
(echo x > "$RELEASES/.fork.git/HEAD") 2>/dev/null && : > "$MARKS/wrote-mirror-head"
mkdir "$RELEASES/forged" 2>/dev/null && : > "$MARKS/made-forged"
# A writer that outlives the build: its own session (out of the build's process group,
# which agentron-fork kills), holding a writable fd on a file of the build folder. It
# stops by itself after 300 lines; each line goes to $MARKS/written too.
exec 3>>lingering.txt
echo "line 0" >&3
setsid sh -c '
  i=1
  while [ $i -le 300 ]; do
    echo "line $i" >&3
    echo "line $i" >> "$MARKS/written"
    i=$((i + 1))
    sleep 0.02
  done
  : > "$MARKS/writer-done"
' </dev/null >/dev/null 2>&1 &
exec 3>&-
# A symlink to /etc/shadow, and hard links to files that are not nobody's.
ln -s /etc/shadow shadow-link
ln /etc/shadow shadow-hard 2>/dev/null && : > "$MARKS/hard-linked-shadow"
ln /etc/passwd passwd-hard 2>/dev/null && : > "$MARKS/hard-linked-passwd"
cat shadow-link > shadow-copy 2>/dev/null || rm -f shadow-copy
# A setuid program and a world-writable file of its own.
cp /bin/true suid-tool && chmod 4755 suid-tool
echo data > open.txt && chmod 666 open.txt
mkdir -p dist/sub && echo built > dist/sub/app.js && chmod 2777 dist
echo built > built.txt
'''

# As nobody: every way to change the release; prints what succeeded.
TRY_CHANGES = r'''
import os, sys
release = sys.argv[1]
done = []
def attempt(name, f):
    try:
        f()
        done.append(name)
    except OSError:
        pass
attempt("create", lambda: open(os.path.join(release, "new.txt"), "x").close())
attempt("create-in-sub", lambda: open(os.path.join(release, "dist", "sub", "new.js"), "x").close())
attempt("append", lambda: open(os.path.join(release, "built.txt"), "a").close())
attempt("write-open-file", lambda: open(os.path.join(release, "open.txt"), "r+").close())
attempt("truncate", lambda: os.truncate(os.path.join(release, "dist", "sub", "app.js"), 0))
attempt("rename", lambda: os.rename(os.path.join(release, "built.txt"), os.path.join(release, "x")))
attempt("unlink", lambda: os.unlink(os.path.join(release, "lingering.txt")))
attempt("chmod", lambda: os.chmod(release, 0o777))
attempt("chmod-file", lambda: os.chmod(os.path.join(release, "built.txt"), 0o666))
attempt("release.json", lambda: open(os.path.join(release, "release.json"), "a").close())
attempt("mkdir-in-releases", lambda: os.mkdir(os.path.join(os.path.dirname(release), "forged")))
attempt("rename-release", lambda: os.rename(release, release + "-moved"))
print(" ".join(done))
'''


@pytest.fixture
def open_tmp():
    """A root-owned folder nobody can enter (pytest's tmp_path is 0700), with a folder
    of nobody's for the build's marks."""
    path = Path(tempfile.mkdtemp(prefix="agentron-privsep-"))
    path.chmod(0o755)
    marks = path / "marks"
    marks.mkdir()
    os.chown(marks, NOBODY.pw_uid, NOBODY.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def lines_in(path):
    return path.read_text().count("\n") if path.exists() else 0


def test_the_build_runs_as_the_apps_user_and_the_release_is_sealed_against_it(open_tmp):
    marks = open_tmp / "marks"
    r = Repos(open_tmp / "r", app={"user": "nobody"}, build=["sh", "-c", BUILD])
    releases = r.tmp / "releases"
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()
    out = r.run("release", head, env={"RELEASES": str(releases), "MARKS": str(marks)})["data"]
    release = Path(out["dir"])
    sealed_lingering = (release / "lingering.txt").read_bytes()

    # The build ran as nobody (and its groups), not as root; the answer says so.
    assert (release / "uid.txt").read_text().split() == [str(NOBODY.pw_uid)]
    assert (release / "home.txt").read_text() == os.environ.get("HOME", "") + "\n"  # nobody's /nonexistent is not
    assert "0" not in (release / "groups.txt").read_text().split()
    assert out["sealed"] is True and out["built_as"] == "nobody"
    assert release == releases / head and (release / "built.txt").read_text() == "built\n"
    # It could write nothing outside its own folder.
    assert sorted(p.name for p in marks.iterdir() if p.name not in ("written", "writer-done")) == []
    assert sorted(p.name for p in releases.iterdir()) == [".fork.git", ".logs", head]  # no build folder left
    assert not (r.tmp / "releases" / ".fork.git" / "planted").exists()

    # Root's, all of it: releases_dir, the release, every entry in it; nothing group or
    # other writable, no setuid or setgid bit.
    for path in [releases, releases / ".fork.git", releases / ".logs", Path(out["log"])]:
        st = os.lstat(path)
        assert st.st_uid == 0 and not st.st_mode & 0o022, path
    entries = [release] + [Path(d) / n for d, dirs, files in os.walk(release) for n in dirs + files]
    for path in entries:
        st = os.lstat(path)
        assert st.st_uid == 0, path
        if not stat.S_ISLNK(st.st_mode):
            assert stat.S_IMODE(st.st_mode) in (0o755, 0o644), (path, oct(st.st_mode))
    assert stat.S_IMODE(os.lstat(release / "suid-tool").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(release / "open.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.lstat(release / "dist").st_mode) == 0o755
    assert json.loads((release / "release.json").read_text())["commit"] == head

    # nobody can change nothing in it, nor replace it.
    tried = subprocess.run([sys.executable, "-c", TRY_CHANGES, str(release)], capture_output=True, text=True,
                           timeout=30, user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[])
    assert tried.returncode == 0, tried.stderr
    assert tried.stdout.split() == []

    # The symlink is a symlink, never followed: /etc/shadow's bytes are in no file.
    assert (release / "shadow-link").is_symlink() and os.readlink(release / "shadow-link") == "/etc/shadow"
    assert not (release / "shadow-hard").exists() and not (release / "shadow-copy").exists()
    shadow = Path("/etc/shadow").read_text()
    assert files_containing(release, shadow) == [] and files_containing(release, shadow.splitlines()[0]) == []
    assert not (marks / "hard-linked-shadow").exists()

    # The writer the build left behind keeps writing into its fd; none of it reaches
    # the release. Wait (bounded) until it has written well past what was sealed.
    sealed_lines = sealed_lingering.count(b"\n")
    poll_until(lambda: lines_in(marks / "written") >= sealed_lines + 20 or (marks / "writer-done").exists(), 20,
               "the lingering writer writing past the seal")
    assert lines_in(marks / "written") >= sealed_lines + 1
    assert (release / "lingering.txt").read_bytes() == sealed_lingering
    assert sealed_lingering.startswith(b"line 0\n")

    # The log is root's, and nothing anywhere holds the token.
    assert os.stat(out["log"]).st_uid == 0
    assert files_containing(r.tmp, TOKEN) == []
    r.assert_upstream_unchanged()


def test_a_local_fork_of_the_apps_user_is_fetched_and_one_of_another_user_refused(open_tmp):
    """The agent pushes to a local fork (the local stand-in for GitHub) as the app's user,
    so the fork is that user's; libgit2, as git without safe.directory, refuses a
    repository another user owns. The release reads the app's user's fork anyway (in
    its confined fetch child, through the directory held open) — and no one else's."""
    r = Repos(open_tmp / "r", app={"user": "nobody"})
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()

    def give_fork_to(uid, gid):
        for p in [r.fork, *r.fork.rglob("*")]:
            os.chown(p, uid, gid, follow_symlinks=False)
    give_fork_to(54321, 54321)  # a user that is neither root nor the app's
    err = r.run("release", head, ok=False)["error"]
    assert "safe.directory" in err["message"], err
    give_fork_to(NOBODY.pw_uid, NOBODY.pw_gid)
    out = r.run("release", head)["data"]
    assert Path(out["dir"]).name == head and out["built_as"] == "nobody"
    r.assert_upstream_unchanged()


def test_a_releases_dir_the_apps_user_could_change_is_refused(open_tmp):
    r = Repos(open_tmp / "r", app={"user": "nobody"})
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()
    releases = r.tmp / "releases"
    releases.mkdir()
    os.chown(releases, NOBODY.pw_uid, NOBODY.pw_gid)  # what it was when agentron-fork ran as the app's user
    err = r.run("release", head, ok=False)["error"]
    assert err["code"] == "releases_dir_unsafe"
    assert f"releases_dir {releases}" in err["message"] and "is writable by nobody, the app's user" in err["message"]
    assert "chown root:root DIR && chmod 0755 DIR" in err["message"]
    assert list(releases.iterdir()) == []  # nothing fetched, nothing built
    # Made root's, but its log folder is still nobody's: root would open a log there by name.
    os.chown(releases, 0, 0)
    (releases / ".logs").mkdir()
    os.chown(releases / ".logs", NOBODY.pw_uid, NOBODY.pw_gid)
    err = r.run("release", head, ok=False)["error"]
    assert err["code"] == "releases_dir_unsafe" and f"{releases}/.logs is not a folder, or nobody" in err["message"]
    assert sorted(p.name for p in releases.iterdir()) == [".fork.git", ".logs"]  # no build folder
    # A releases_dir of root's in a folder nobody owns: nobody could swap it.
    parent = r.tmp / "apps"
    parent.mkdir()
    os.chown(parent, NOBODY.pw_uid, NOBODY.pw_gid)
    r2 = Repos(open_tmp / "r2", app={"user": "nobody"}, releases_dir=str(parent / "releases"))
    err = r2.run("release", head, ok=False)["error"]
    assert err["code"] == "releases_dir_unsafe" and f"lies in {parent}" in err["message"]


def test_a_build_the_apps_user_cannot_execute_is_named_with_the_reason(open_tmp):
    r = Repos(open_tmp / "r", app={"user": "nobody"}, build=["no-such-build-tool-x"])
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()
    err = r.run("release", head, ok=False)["error"]
    assert err["code"] == "spawn_failed"
    # (ENOENT, or EACCES when a folder on root's PATH is closed to nobody)
    assert f"cannot run the command as nobody: cannot execute 'no-such-build-tool-x' as uid {NOBODY.pw_uid}: " \
        in err["message"]
    assert sorted(p.name for p in (r.tmp / "releases").iterdir()) == [".fork.git", ".logs"]


def test_a_third_user_cannot_release_for_the_apps_user(open_tmp):
    """Not root and not the app's user: the build could not drop, nor the release be
    sealed — refused before anything is written."""
    shutil.copy2(FORK, open_tmp / "agentron-fork")
    r = Repos(open_tmp / "r", app={"user": "daemon"})
    os.chown(r.tmp, NOBODY.pw_uid, NOBODY.pw_gid)
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()
    err = r.run("release", head, ok=False, user=NOBODY, cwd=open_tmp, fork=open_tmp / "agentron-fork",
                env={"HOME": str(open_tmp)})["error"]
    assert err["code"] == "needs_root"
    assert 'release as root: with [app] user = "daemon" the build runs as daemon' in err["message"]
    assert not (r.tmp / "releases").exists()


def test_as_the_apps_user_itself_the_release_is_made_as_before_unsealed(open_tmp):
    shutil.copy2(FORK, open_tmp / "agentron-fork")
    r = Repos(open_tmp / "r", app={"user": "nobody"})
    head = git("rev-parse", "main", cwd=r.fork).stdout.strip()
    for p in [r.tmp, *r.tmp.rglob("*")]:
        os.chown(p, NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    out = r.run("release", head, user=NOBODY, cwd=open_tmp, fork=open_tmp / "agentron-fork",
                env={"HOME": str(open_tmp)})["data"]
    assert out["sealed"] is False and "built_as" not in out
    assert os.stat(out["dir"]).st_uid == NOBODY.pw_uid
