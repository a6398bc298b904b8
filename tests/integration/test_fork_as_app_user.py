"""agentron-fork's workspace verbs run as root with `[app] user = "nobody"` — as the
supervisor, started as root, will run them for the agent. agentron-fork reads the
config and the token (a root-only credentials_file) as root, then drops in-process to
nobody: what it writes in the workspace is nobody's, the build and the tests run as
nobody, and the token in its memory stays out of nobody's reach — the kernel keeps the
process non-dumpable across the switch. Each of those is checked here against the real
kernel, not assumed. docs/security.md, "The workspace subcommands"."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fork_env import FORK, TOKEN, Repos, files_containing, git, refs
from harness import poll_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to the app's user needs root")
NOBODY = pwd.getpwnam("nobody")

# The build, as it reports itself: who it runs as and with what environment, and the
# pids of agentron-fork (its parent) and itself. It then waits, bounded by
# build_timeout, for a line on the fifo $MARKS/go — while it waits, the test looks at
# agentron-fork from outside.
BUILD = r'''
id -u > "$MARKS/uid"
id -G > "$MARKS/groups"
echo "$HOME" > "$MARKS/home"
env > "$MARKS/env"
echo "$PPID $$" > "$MARKS/pids.tmp" && mv "$MARKS/pids.tmp" "$MARKS/pids"
read go < "$MARKS/go"
echo built > built.txt
'''

# As nobody: every way into another process's memory, environment and descriptors —
# for agentron-fork (its pid in argv[1]) and, as a control, for the build (argv[2]),
# an ordinary process of nobody's, which must be open to it. Prints JSON.
PROBE = r'''
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206

def outcome(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

def ptrace(request, pid):
    # SEIZE does not stop the tracee; this process exits right after, which detaches.
    rc = libc.ptrace(request, pid, None, None)
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]

def tries(pid, attach):
    return {"environ": outcome(lambda: open(f"/proc/{pid}/environ", "rb").read()),
            "mem": outcome(lambda: open(f"/proc/{pid}/mem", "rb").close()),
            "fd": outcome(lambda: os.listdir(f"/proc/{pid}/fd")),
            "ptrace": ptrace(attach, pid)}

print(json.dumps({"fork": tries(int(sys.argv[1]), PTRACE_ATTACH),
                  "build": tries(int(sys.argv[2]), PTRACE_SEIZE)}))
'''


@pytest.fixture
def open_tmp():
    """A root-owned folder nobody can enter (pytest's tmp_path is 0700), with `agent/`
    — where the agent's workspace and its logs go — and `marks/` of nobody's."""
    path = Path(tempfile.mkdtemp(prefix="agentron-fork-app-user-"))
    path.chmod(0o755)
    for name in ("agent", "marks"):
        (path / name).mkdir()
        os.chown(path / name, NOBODY.pw_uid, NOBODY.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def give_to(path, user):
    for p in [path, *path.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid, follow_symlinks=False)


def not_owned_by(root, user):
    """Every entry under `root` (itself included, no symlink followed) that is not
    `user`'s, with its owner."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for path in [Path(dirpath)] + [Path(dirpath) / n for n in dirnames + filenames]:
            st = os.lstat(path)
            if (st.st_uid, st.st_gid) != (user.pw_uid, user.pw_gid):
                found.append((str(path), st.st_uid, st.st_gid))
    return found


def refs_as_root(repo):
    """The refs of a repository that may be another user's (git, as root, would refuse it)."""
    return git("-c", "safe.directory=*", "for-each-ref", "--format=%(refname) %(objectname)", cwd=repo).stdout


def root_only_token(tmp):
    creds = tmp / "token"
    creds.write_text(TOKEN + "\n")
    creds.chmod(0o600)
    return creds


def repos_for_the_agent(tmp, app_user="nobody", **keys):
    """Repos with the workspace in `agent/` (nobody's); the fork pushed to by nobody."""
    app = {"user": app_user} if app_user else {}
    r = Repos(tmp / "r", app=app, workspace=str(tmp / "agent" / "ws"), **keys)
    r.workspace = tmp / "agent" / "ws"
    return r


def ids_of(pid):
    """The Uid, Gid, Groups and capability lines of /proc/<pid>/status (readable by all)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.split() for k, _, v in (line.partition(":") for line in lines)
            if k in ("Uid", "Gid", "Groups", "CapEff", "CapPrm")}


def build_watched(r, marks, env):
    """Runs `build` with BUILD waiting on the fifo marks/go; while it waits, probes
    agentron-fork as nobody. Returns (answer, probe, agentron-fork's ids)."""
    go = marks / "go"
    os.mkfifo(go)
    os.chown(go, NOBODY.pw_uid, NOBODY.pw_gid)
    # Held open for writing throughout: the build's `read` never sees EOF early, and
    # the line written below cannot be lost before the build opens the fifo.
    go_fd = os.open(go, os.O_RDWR)
    proc = subprocess.Popen([str(FORK), "build", "--config", str(r.config), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        pids = poll_until(lambda: (marks / "pids").exists() and (marks / "pids").read_text().split(), 30,
                          "the build's start")
        fork_pid, build_pid = int(pids[0]), int(pids[1])
        ids = ids_of(fork_pid)
        probe = subprocess.run([sys.executable, "-c", PROBE, str(fork_pid), str(build_pid)], capture_output=True,
                               text=True, timeout=30, user=NOBODY.pw_uid, group=NOBODY.pw_gid, extra_groups=[])
        assert probe.returncode == 0, probe.stderr
        os.write(go_fd, b"go\n")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        os.close(go_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r.outputs.append(stdout + stderr)
    answer = json.loads(stdout)
    assert answer["ok"], answer
    return answer, json.loads(probe.stdout), ids


def test_the_workspace_verbs_work_as_the_apps_user_which_cannot_read_agentron_fork(open_tmp):
    marks = open_tmp / "marks"
    creds = root_only_token(open_tmp)
    r = repos_for_the_agent(open_tmp, build=["sh", "-c", BUILD], test=["sh", "-c", "id -u > \"$MARKS/test-uid\""],
                            credentials_file=str(creds), build_timeout="60s")
    give_to(r.fork, NOBODY)  # the agent's fork: nobody pushes to it
    env = {"AGENTRON_FORK_TOKEN": "", "MARKS": str(marks)}  # the token only in root's file

    r.run("ensure-fork", env=env)
    r.run("clone-or-pull", env=env)
    r.run("install-hooks", env=env)
    r.run("check-guard", env=env)
    r.run("create-branch", "as-nobody", env=env)
    (r.workspace / "src" / "app.js").write_text("console.log(2)\n")
    (r.workspace / "docs").mkdir()
    (r.workspace / "docs" / "new.md").write_text("a new file\n")
    give_to(r.workspace, NOBODY)  # what the agent itself wrote is nobody's anyway
    commit = r.run("commit", "-m", "log 2", env=env)["data"]["commit"]
    r.run("push", env=env)
    answer, probe, ids = build_watched(r, marks, env)
    r.run("test", env=env)

    # Everything in the workspace and its logs is nobody's: what clone, branch, commit,
    # push, the hook and the build created or changed. (sync-upstream: over HTTP,
    # below — libgit2, like git, refuses to fetch from a local repository of another
    # user, the root-owned upstream here.)
    assert not_owned_by(r.workspace, NOBODY) == []
    assert not_owned_by(open_tmp / "agent" / "ws-logs", NOBODY) == []
    assert (r.workspace / ".git" / "hooks" / "pre-push").exists() and (r.workspace / "built.txt").exists()
    # The push landed in the fork; the upstream is as it was.
    assert commit in refs_as_root(r.fork)
    r.assert_upstream_unchanged()

    # The build and the test ran as nobody, without group 0.
    assert (marks / "uid").read_text().split() == [str(NOBODY.pw_uid)]
    assert (marks / "test-uid").read_text().split() == [str(NOBODY.pw_uid)]
    assert "0" not in (marks / "groups").read_text().split()
    # HOME as agentron-fork got it: nobody's home, /nonexistent, does not exist.
    assert (marks / "home").read_text() == os.environ.get("HOME", "") + "\n"
    assert answer["data"]["ok"] is True

    # agentron-fork itself was nobody's while it ran — every id, no capability — so what
    # kept nobody out below is its being non-dumpable, not its being root.
    uid, gid = str(NOBODY.pw_uid), str(NOBODY.pw_gid)
    assert ids["Uid"] == [uid] * 4 and ids["Gid"] == [gid] * 4 and ids["Groups"] == [gid], ids
    assert int(ids["CapEff"][0], 16) == 0 and int(ids["CapPrm"][0], 16) == 0, ids
    # nobody could not read its environment or memory, list its descriptors or trace it…
    assert probe["fork"]["environ"] in ("EACCES", "EPERM"), probe
    assert probe["fork"]["mem"] in ("EACCES", "EPERM"), probe
    assert probe["fork"]["fd"] in ("EACCES", "EPERM"), probe
    assert probe["fork"]["ptrace"] == "EPERM", probe
    # …while the same probe reads a process of nobody's that is dumpable: the build.
    assert probe["build"] == {"environ": "ok", "mem": "ok", "fd": "ok", "ptrace": "ok"}, probe

    # The token is in root's file only: not in the build's environment, nor in any file
    # of the run, nor in any output.
    assert TOKEN not in (marks / "env").read_text()
    assert files_containing(open_tmp, TOKEN) == [creds]
    for output in r.outputs:
        assert TOKEN not in output


def test_a_push_over_https_style_auth_sends_the_root_only_token(open_tmp):
    from git_http_server import GitHttpServer
    from fork_env import fill_served
    marks = open_tmp / "marks"
    creds = root_only_token(open_tmp)
    served = fill_served(open_tmp / "served", open_tmp / "staging")
    with GitHttpServer(served, user="x-access-token", token=TOKEN, protected={"fork.git"}) as server:
        r = repos_for_the_agent(open_tmp, fork_url=server.url("fork.git"), upstream_url=server.url("upstream.git"),
                                credentials_file=str(creds), build=["sh", "-c", "env > \"$MARKS/env\""])
        upstream_refs = refs(served / "upstream.git")
        env = {"AGENTRON_FORK_TOKEN": "", "MARKS": str(marks)}
        r.run("clone-or-pull", env=env)
        r.run("create-branch", "over-http", env=env)
        (r.workspace / "README.md").write_text("# app\npushed by nobody\n")
        commit = r.run("commit", "-m", "readme", env=env)["data"]["commit"]
        r.run("push", env=env)
        r.run("sync-upstream", env=env)  # the upstream, fetched without the token
        r.run("build", env=env)
        assert commit in refs(served / "fork.git")
        assert refs(served / "upstream.git") == upstream_refs
        # The token from root's file reached the fork (the server let the push in), and
        # only the fork.
        assert any(auth for method, path, auth in server.requests if method == "POST" and path.startswith("/fork.git"))
        assert not any(auth for _, path, auth in server.requests if path.startswith("/upstream.git"))
    assert not_owned_by(r.workspace, NOBODY) == []
    assert not_owned_by(open_tmp / "agent" / "ws-logs", NOBODY) == []
    assert TOKEN not in (marks / "env").read_text()
    assert files_containing(open_tmp, TOKEN) == [creds]
    for output in r.outputs:
        assert TOKEN not in output


def test_without_app_user_the_same_verbs_leave_roots_files_which_the_checks_catch(open_tmp):
    """The negative control: the single-user model run as root (no [app] user) works as
    root — what the checks above would see if the drop were lost."""
    marks = open_tmp / "marks"
    r = repos_for_the_agent(open_tmp, app_user=None, build=["sh", "-c", "id -u > \"$MARKS/uid\""])
    r.run("clone-or-pull", env={"MARKS": str(marks)})
    r.run("build", env={"MARKS": str(marks)})
    assert (marks / "uid").read_text().split() == ["0"]
    wrong = not_owned_by(r.workspace, NOBODY)
    assert {uid for _, uid, _ in wrong} == {0}, wrong
    assert {str(r.workspace), str(r.workspace / ".git" / "config"), str(r.workspace / "README.md")} <= \
        {path for path, _, _ in wrong}


def test_roots_git_config_is_not_read_after_the_drop(open_tmp):
    """libgit2 reads ~/.gitconfig from $HOME, which is still root's when the app's user
    has no home (nobody's is /nonexistent). After the drop it must not be read: here it
    would hide *.local files from `commit` (core.excludesFile). Readable by nobody, so
    only agentron-fork's own choice keeps it out; without [app] user (root) it is read."""
    home = open_tmp / "root-home"
    home.mkdir()
    (home / "ignore").write_text("*.local\n")
    (home / ".gitconfig").write_text(f"[core]\n\texcludesFile = {home / 'ignore'}\n")
    committed = {}
    for app_user in ("nobody", None):
        tmp = open_tmp / (app_user or "root")
        tmp.mkdir()
        tmp.chmod(0o755)
        (tmp / "agent").mkdir()
        os.chown(tmp / "agent", NOBODY.pw_uid, NOBODY.pw_gid)
        r = repos_for_the_agent(tmp, app_user=app_user)
        if app_user:
            give_to(r.fork, NOBODY)  # libgit2 clones only a local repository of its own user's
        env = {"HOME": str(home)}
        r.run("clone-or-pull", env=env)
        (r.workspace / "README.md").write_text("# app\nchanged\n")
        (r.workspace / "notes.local").write_text("a file root's gitconfig ignores\n")
        if app_user:
            give_to(r.workspace, NOBODY)
        committed[app_user] = r.run("commit", "-m", "notes", env=env)["data"]["paths"]
    assert committed["nobody"] == ["README.md", "notes.local"]
    assert committed[None] == ["README.md"]


def test_an_app_user_that_does_not_exist_stops_everything_before_it_starts(open_tmp):
    """A config error (exit 2), before the token is read or anything is written; the
    drop's own failures (drop_failed) are in tests/fork/drop_privileges_test.cpp."""
    r = repos_for_the_agent(open_tmp, app_user="no-such-user-x")
    for verb in ("clone-or-pull", "build", "check-guard"):
        out = subprocess.run([str(FORK), verb, "--config", str(r.config), "--json"], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "AGENTRON_FORK_TOKEN": TOKEN})
        assert out.returncode == 2 and "[app] user 'no-such-user-x': no such user" in out.stderr, out
    assert list((open_tmp / "agent").iterdir()) == []
