"""The agent's own code against agentron-fork: build, test and release run scripts the
agent wrote, as the same user as agentron-fork, and the agent can edit its workspace
and (today) releases_dir. Each test is one finding of the red team's report
(docs/security.md, "What the red team found"): the attack as they ran it, and what
must hold afterwards — the token in no file or output, the upstream byte for byte as
it was."""
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from fork_env import FORK, TOKEN, Repos, files_containing, git, refs, upstream_state
from harness import pid_alive, poll_until

NOBODY = pwd.getpwnam("nobody")
as_root_only = pytest.mark.skipif(os.geteuid() != 0, reason="running agentron-fork as another user needs root")


def head_of(r):
    return git("rev-parse", "HEAD", cwd=r.workspace).stdout.strip()


def with_upstream_only_branch(r):
    """A branch only the upstream has (a fetch with pruning into it would delete it);
    the baseline every check compares with is taken after it."""
    git("branch", "upstream-only", "main", cwd=r.upstream)
    r.upstream_refs = refs(r.upstream)
    r.upstream_before = upstream_state(r.upstream)


def nothing_leaked(r):
    r.assert_upstream_unchanged()
    assert files_containing(r.tmp, TOKEN) == []
    for output in r.outputs:
        assert TOKEN not in output


# --- finding 1: the build reads the token from agentron-fork's /proc/<pid>/{environ,mem} --

# What a build script of the agent's does: every process it can open, its environment
# and its writable memory (heap, stack, the environ block), searched for a GitHub-like
# token. It writes what it found, and what it could not open, to argv[1].
LOOT = r'''
import os, re, sys
pattern = re.compile(rb"ghp_[A-Za-z0-9_-]{6,}")
me, out = os.getpid(), open(sys.argv[1], "ab")
for pid in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
    if pid == me:
        continue
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        continue
    out.write(f"== {pid} {comm}\n".encode())
    try:
        out.write(b"environ: " + b" ".join(pattern.findall(open(f"/proc/{pid}/environ", "rb").read())) + b"\n")
    except OSError as e:
        out.write(f"environ: {type(e).__name__}\n".encode())
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", 0)
    except OSError as e:
        out.write(f"mem: {type(e).__name__}\n".encode())
        continue
    for line in maps:
        fields = line.split()
        if "w" not in fields[1]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if end - start > 1 << 30:
            # An AddressSanitizer build's shadow memory (terabytes, mostly unmapped) — of
            # another test's process running as this user meanwhile; no token is there.
            continue
        try:
            mem.seek(start)
            out.write(b"mem: " + b" ".join(pattern.findall(mem.read(end - start))) + b"\n")
        except (OSError, ValueError, OverflowError, MemoryError):
            pass
'''


@pytest.fixture
def open_tmp():
    """A folder the user nobody can reach (pytest's tmp_path is root's, 0700), with a
    copy of agentron-fork (the build tree may be under a folder nobody cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix="agentron-fork-user-"))
    path.chmod(0o755)
    shutil.copy2(FORK, path / "agentron-fork")
    (path / "loot.py").write_text(LOOT)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def give_to(path, user):
    for p in [path, *path.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid, follow_symlinks=False)


@as_root_only
@pytest.mark.parametrize("verb", ["build", "release"])
@pytest.mark.parametrize("token_from", ["environment", "credentials_file"])
def test_the_agents_code_cannot_read_the_token_from_agentron_forks_memory(open_tmp, verb, token_from):
    """As the red team did (attack_proc_build.sh), as an unprivileged user: the build
    walks every process it can open — agentron-fork, its parent, anything it forked —
    and reads /proc/<pid>/environ and /proc/<pid>/mem. agentron-fork is non-dumpable,
    so those files are root's and the reads fail; the token is found nowhere."""
    loot = open_tmp / "loot"
    creds = open_tmp / "token"
    creds.write_text(TOKEN + "\n")
    creds.chmod(0o600)
    keys = {"credentials_file": str(creds)} if token_from == "credentials_file" else {}
    r = Repos(open_tmp / "r", build=["python3", str(open_tmp / "loot.py"), str(loot)], **keys)
    give_to(r.fork, NOBODY)
    give_to(creds, NOBODY)
    loot.touch()
    give_to(loot, NOBODY)
    os.chown(r.tmp, NOBODY.pw_uid, NOBODY.pw_gid)  # the workspace, its logs and the releases go here
    env = {"HOME": str(open_tmp), **({"AGENTRON_FORK_TOKEN": ""} if token_from == "credentials_file" else {})}

    def run(*args, **kw):
        return r.run(*args, user=NOBODY, cwd=open_tmp, fork=open_tmp / "agentron-fork", env=env, **kw)

    run("clone-or-pull")
    if verb == "release":
        run("create-branch", "x")
        (r.workspace / "docs").mkdir()
        (r.workspace / "docs" / "x.md").write_text("a pushed change\n")
        commit = run("commit", "-m", "docs: x")["data"]["commit"]
        run("push")  # as nobody: the push goes through /proc/self/fd, which non-dumpable must not break
        run("release", commit)
    else:
        run("build")
    found = loot.read_bytes()
    assert TOKEN.encode() not in found
    # The attack ran and reached agentron-fork, which it could not open.
    fork_entries = [block for block in found.split(b"== ")[1:] if block.split(b"\n")[0].endswith(b" agentron-fork")]
    assert fork_entries, found[:2000]
    for block in fork_entries:
        assert b"environ: PermissionError" in block and b"mem: PermissionError" in block, block
    nothing_leaked(r)


def test_the_token_is_wiped_from_agentron_forks_environ_block(tmp_path):
    """unsetenv() leaves the bytes where the kernel shows them (/proc/<pid>/environ).
    Root can read that file of a non-dumpable process too; the token's bytes are
    overwritten in place, so even then it is not there."""
    build = ["sh", "-c", 'cat /proc/$PPID/environ > parent-environ; cat /proc/$PPID/comm > parent-comm']
    r = Repos(tmp_path, build=build)
    r.run("clone-or-pull")
    r.run("build")
    assert (r.workspace / "parent-comm").read_text().strip() == "agentron-fork"
    environ = (r.workspace / "parent-environ").read_bytes()
    assert b"PATH=" in environ  # it was read
    assert TOKEN.encode() not in environ
    nothing_leaked(r)


# --- finding 2: a long output line crashed agentron-fork, and the core file held the token --

def test_a_megabyte_line_carrying_the_token_is_scrubbed_and_crashes_nothing(tmp_path):
    """attack_coredump.sh: one 60,000-byte line overflowed the scrubber's stack (a
    recursive regex), and with `ulimit -c unlimited` the core file held the token."""
    script = tmp_path / "long-line.py"
    script.write_text("import os\n"
                      f"os.write(1, b'A' * (1 << 20) + b'{TOKEN}' + b'B' * 70000 + b'\\n')\n"
                      "os.write(1, b'after the long line\\n')\n")
    r = Repos(tmp_path / "r", build=["python3", str(script)])
    r.run("clone-or-pull")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    unlimited_cores = lambda: resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)  # noqa: E731
    out = subprocess.run([str(FORK), "build", "--config", str(r.config), "--json"], capture_output=True, text=True,
                         timeout=120, cwd=cwd, preexec_fn=unlimited_cores,
                         env={**os.environ, "AGENTRON_FORK_TOKEN": TOKEN})
    r.outputs.append(out.stdout + out.stderr)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    log = Path(json.loads(out.stdout)["data"]["log"]).read_text()
    assert "A" * 1000 + "***" + "B" * 1000 in log and "after the long line" in log
    assert [p for p in [*cwd.iterdir(), *r.workspace.iterdir()] if p.name.startswith("core")] == []
    nothing_leaked(r)


def sleeper_pids(r):
    pids = [r.workspace / "build.pid", r.workspace / "grandchild.pid"]
    if not all(p.exists() and p.read_text().strip() for p in pids):
        return None
    return [int(p.read_text()) for p in pids]


def kill_leftovers(pids):
    for pid in pids or []:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_killed_agentron_fork_takes_its_build_with_it(tmp_path):
    """agentron-fork crashed or was killed mid-build: the build, in its own process
    group, must not run on past build_timeout. A member of that group that
    agentron-fork started kills it as soon as agentron-fork is gone."""
    build = ["sh", "-c", "sleep 300 & echo $! > grandchild.pid; echo $$ > build.pid; wait"]
    r = Repos(tmp_path, build=build, build_timeout="10m")
    r.run("clone-or-pull")
    fork = subprocess.Popen([str(FORK), "build", "--config", str(r.config), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "AGENTRON_FORK_TOKEN": TOKEN})
    pids = None
    try:
        pids = poll_until(lambda: sleeper_pids(r), 20, "the build started")
        fork.kill()
        fork.wait(timeout=10)
        poll_until(lambda: not any(pid_alive(p) for p in pids), 10, "the build and its child gone")
    finally:
        fork.kill()
        kill_leftovers(pids)


def test_a_timed_out_build_is_killed_with_its_whole_group(tmp_path):
    build = ["sh", "-c", "sh -c 'trap \"\" TERM; sleep 300' & echo $! > grandchild.pid; echo $$ > build.pid; "
                         "sleep 300"]
    r = Repos(tmp_path, build=build, build_timeout="1s")
    r.run("clone-or-pull")
    pids = None
    try:
        err = r.run("build", ok=False)["error"]
        assert err["code"] == "build_failed" and "timed out" in err["message"]
        pids = sleeper_pids(r)
        poll_until(lambda: not any(pid_alive(p) for p in pids), 10, "the group gone, a TERM-ignoring child too")
    finally:
        kill_leftovers(pids)


# --- finding 3: with credentials_file, build and test did not know the token to scrub --

def test_a_token_from_the_credentials_file_is_scrubbed_from_every_build_log(tmp_path):
    creds = tmp_path / "token"
    creds.write_text(TOKEN + "\n")
    creds.chmod(0o600)
    # The build reads the file (it can: same user) and prints it, to stdout and stderr;
    # the test does the same and fails, so its message carries the log's last lines.
    leak = f'echo "token: $(cat {creds})"; cat {creds} >&2; env > env.txt'
    r = Repos(tmp_path / "c", credentials_file=str(creds), build=["sh", "-c", leak],
              test=["sh", "-c", leak + "; exit 3"])
    no_env = {"AGENTRON_FORK_TOKEN": ""}
    r.run("clone-or-pull", env=no_env)
    data = r.run("build", env=no_env)["data"]
    assert "token: ***" in Path(data["log"]).read_text() and "token: ***" in data["log_tail"]
    err = r.run("test", ok=False, env=no_env)["error"]
    assert err["code"] == "test_failed" and "token: ***" in err["message"]
    made = r.run("release", head_of(r), env=no_env)["data"]
    assert "token: ***" in Path(made["log"]).read_text()
    nothing_leaked(r)


# --- finding 4: release fetched into a mirror the agent had replaced ------------------

def mirror_is_a_symlink(r, mirror):
    """attack_mirror_symlink.sh: a build script swaps <releases_dir>/.fork.git for a symlink."""
    shutil.rmtree(mirror)
    os.symlink(r.upstream, mirror)


def mirror_refs_is_a_symlink(r, mirror):
    shutil.rmtree(mirror / "refs" / "heads")
    os.symlink(r.upstream / "refs" / "heads", mirror / "refs" / "heads")


def mirror_objects_is_a_symlink(r, mirror):
    shutil.rmtree(mirror / "objects")
    os.symlink(r.upstream / "objects", mirror / "objects")


def mirror_has_a_commondir(r, mirror):
    (mirror / "commondir").write_text(f"{r.upstream}\n")


@pytest.mark.parametrize("how", [mirror_is_a_symlink, mirror_refs_is_a_symlink, mirror_objects_is_a_symlink,
                                 mirror_has_a_commondir], ids=lambda f: f.__name__)
def test_a_release_mirror_leading_to_the_upstream_is_set_aside_never_fetched_into(tmp_path, how):
    r = Repos(tmp_path)
    with_upstream_only_branch(r)
    r.run("clone-or-pull")
    r.run("create-branch", "x")
    r.edit_and_commit(docs=True)
    r.run("push")
    r.run("release", head_of(r))  # the mirror exists now
    mirror = tmp_path / "releases" / ".fork.git"
    how(r, mirror)
    r.edit_and_commit("console.log(3)\n", docs=True)
    r.run("push")
    out = r.run("release", head_of(r))  # something new to fetch, a branch to prune
    assert any(".fork.git" in w and "set aside" in w for w in out.get("warnings", [])), out
    assert mirror.is_dir() and not mirror.is_symlink() and not (mirror / "commondir").exists()
    assert "refs/heads/agent-improvement/x" in refs(mirror)
    assert [p.name for p in (tmp_path / "releases").iterdir() if p.name.startswith(".fork.git.refused-")]
    nothing_leaked(r)


def test_a_releases_dir_inside_the_upstream_is_refused(tmp_path):
    r = Repos(tmp_path, releases_dir=str(tmp_path / "upstream.git" / "releases"))
    r.run("clone-or-pull")
    err = r.run("release", head_of(r), ok=False)["error"]
    assert err["code"] == "releases_dir_unsafe" and "upstream" in err["message"]
    assert not (tmp_path / "upstream.git" / "releases").exists()
    nothing_leaked(r)


# --- finding 5: a hard link in .git made create-branch append to the upstream ---------

@pytest.mark.parametrize("where, upstream_file", [("logs/refs/heads/agent-improvement/hl", "packed-refs"),
                                                  ("logs/HEAD", "HEAD"), ("config", "config")])
def test_a_hard_link_to_an_upstream_file_inside_git_is_refused(tmp_path, where, upstream_file):
    """attack_hardlink_reflog.sh: libgit2 appends a reflog line in place; a hard link is
    the upstream's file under a workspace path, so neither the symlink checks nor the
    write sandbox (which judges the path) saw it."""
    r = Repos(tmp_path)
    r.run("clone-or-pull")
    link = r.workspace / ".git" / where
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists():
        link.unlink()
    os.link(r.upstream / upstream_file, link)
    for verb in (["create-branch", "hl"], ["commit", "-m", "x"], ["push"], ["sync-upstream"], ["clone-or-pull"]):
        err = r.run(*verb, ok=False)["error"]
        assert err["code"] == "workspace_redirected" and "hard link" in err["message"], (verb, err)
    os.unlink(link)
    nothing_leaked(r)


# --- finding 6: release reused a release folder a build script had forged -------------

def test_release_never_reuses_a_folder_it_did_not_build(tmp_path):
    """attack_release_forge.sh: a workspace build script pre-creates <releases_dir>/<G>/
    for a pushed commit G with an unpushed commit's files and a release.json."""
    r = Repos(tmp_path)
    r.run("clone-or-pull")
    r.run("create-branch", "forge")
    (r.workspace / "evil.txt").write_text("EVIL payload never pushed\n")
    git("add", "evil.txt", cwd=r.workspace)
    git("commit", "-qm", "evil", cwd=r.workspace)
    evil = head_of(r)
    git("reset", "-q", "--hard", "HEAD~1", cwd=r.workspace)
    r.edit_and_commit(docs=True)
    r.run("push")
    pushed = head_of(r)
    forged = tmp_path / "releases" / pushed
    record = {"branch": "agent-improvement/forge", "build_status": "ok", "built_at": "2026-12-01T00:00:00Z",
              "built_at_ns": 1, "commit": pushed, "duration_seconds": 0, "fork_url": f"file://{r.fork}",
              "log": "/dev/null"}
    forge = ["sh", "-c", f"mkdir -p {forged} && git archive {evil} | tar -x -C {forged} && "
                         f"printf '%s\\n' '{json.dumps(record)}' > {forged}/release.json"]
    r.config.write_text(r.config.read_text().replace('"echo building; echo built > built.txt"',
                                                     json.dumps(forge[2])))
    r.run("build")  # the agent's build, run by agentron-fork, forges the folder
    assert (forged / "evil.txt").exists()
    r.config.write_text(r.config.read_text().replace(json.dumps(forge[2]), '"echo building; echo built > built.txt"'))
    made = r.run("release", pushed)["data"]
    built = Path(made["dir"])
    assert built != forged and built.parent == forged.parent and built.name.startswith(pushed)
    assert (built / "built.txt").read_text() == "built\n" and not (built / "evil.txt").exists()
    assert json.loads((built / "release.json").read_text())["built_at_ns"] > 1
    # A second release of the same commit builds again, into a folder of its own.
    again = Path(r.run("release", pushed)["data"]["dir"])
    assert again not in (built, forged) and (again / "built.txt").exists()
    nothing_leaked(r)
