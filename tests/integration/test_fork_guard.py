"""The fork-only promise against an agent that can edit any file in its workspace
(issue 20): every attack below is tried for real, on bare repositories over file://
and a loopback smart-HTTP server. After each, the upstream is byte for byte what it
was (its refs as git lists them and every file under it) and the token is in no file.
docs/security.md lists these tests next to what they keep true."""
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from fork_env import FORK, TOKEN, Repos, files_containing, fill_served, git, refs


def checked_after(r):
    """What every test ends with."""
    r.assert_upstream_unchanged()
    assert files_containing(r.tmp, TOKEN) == []
    for output in r.outputs:
        assert TOKEN not in output


@pytest.fixture
def repos(tmp_path):
    r = Repos(tmp_path)
    r.run("clone-or-pull")
    r.run("create-branch", "x")
    r.edit_and_commit(docs=True)
    yield r
    checked_after(r)


def check_guard_url(r, url):
    """What the pre-push hook runs (from the workspace, as git does)."""
    out = subprocess.run([str(FORK), "check-guard", "--config", str(r.config), "--json", "--remote", "origin",
                          "--url", url], cwd=r.workspace, capture_output=True, text=True, timeout=60)
    r.outputs.append(out.stdout + out.stderr)
    return out


# --- 1. the hook reads file:// URLs as git does --------------------------------------

def plant_symlink(r, host_dir, target):
    """ws/<host_dir>/<the upstream's absolute path> → target: what a relative reading of
    file://<host_dir>/<upstream path> would find."""
    link = r.workspace / host_dir / str(r.upstream).lstrip("/")
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    return link


@pytest.mark.parametrize("form", ["file://HOST/PATH", "file://localhost/PATH", "file://.git/PATH", "file:///PATH",
                                  "relative path", "workspace symlink to the upstream"])
def test_the_hook_refuses_every_file_url_form_of_the_upstream(repos, form):
    r = repos
    r.run("install-hooks")
    if form == "relative path":
        url = os.path.relpath(r.upstream, r.workspace)
    elif form == "workspace symlink to the upstream":
        url = ".git/tmp/x/up.git"
        (r.workspace / ".git/tmp/x").mkdir(parents=True)
        os.symlink(r.upstream, r.workspace / url)
    elif form == "file:///PATH":
        url = f"file://{r.upstream}"
    else:
        host = form[len("file://"):].split("/")[0]
        plant_symlink(r, host, r.fork)  # read relative to the workspace, it would be the fork
        url = f"file://{host}{r.upstream}"
    git("config", "remote.origin.pushurl", url, cwd=r.workspace)
    pushed = git("push", "origin", "HEAD", cwd=r.workspace, check=False)
    assert pushed.returncode != 0, pushed.stderr
    assert "refusing to push to the upstream" in pushed.stderr
    judged = check_guard_url(r, url)
    assert judged.returncode == 1 and "push_refused" in judged.stdout
    assert r.run("check-guard", ok=False)["error"]["code"] == "push_refused"
    assert r.run("push", ok=False)["error"]["code"] == "push_refused"
    assert "refs/heads/agent-improvement/x" not in refs(r.fork)


def test_a_hook_is_skippable_so_the_guarantee_is_elsewhere(tmp_path):
    """`git push --no-verify` skips any hook. Here the test user can write the upstream
    (a folder beside the workspace), so that push lands: what keeps the real upstream
    safe is that nothing the agent runs can write it (docs/security.md). agentron-fork
    itself refuses the same configuration."""
    r = Repos(tmp_path)
    r.run("clone-or-pull")
    r.run("create-branch", "x")
    r.edit_and_commit(docs=True)
    r.run("install-hooks")
    git("config", "remote.origin.pushurl", str(r.upstream), cwd=r.workspace)
    assert r.run("push", ok=False)["error"]["code"] == "push_refused"
    assert git("push", "origin", "HEAD", cwd=r.workspace, check=False).returncode != 0
    r.assert_upstream_unchanged()
    git("push", "--no-verify", "origin", "HEAD", cwd=r.workspace)
    assert "refs/heads/agent-improvement/x" in refs(r.upstream)


# --- 2. the workspace must be its own repository -------------------------------------

def redirect_git_file(r):
    shutil.rmtree(r.workspace / ".git")
    (r.workspace / ".git").write_text(f"gitdir: {r.upstream}\n")


def redirect_git_symlink(r):
    shutil.rmtree(r.workspace / ".git")
    os.symlink(r.upstream, r.workspace / ".git")


def redirect_commondir(r):
    (r.workspace / ".git" / "commondir").write_text(f"{r.upstream}\n")


def redirect_refs(r):
    shutil.rmtree(r.workspace / ".git" / "refs")
    os.symlink(r.upstream / "refs", r.workspace / ".git" / "refs")


def redirect_branch_folder(r):
    """refs/heads/agent-improvement/ → the upstream's refs/heads: a new branch would be created there."""
    folder = r.workspace / ".git" / "refs" / "heads" / "agent-improvement"
    shutil.rmtree(folder)
    os.symlink(r.upstream / "refs" / "heads", folder)


def redirect_logs(r):
    shutil.rmtree(r.workspace / ".git" / "logs", ignore_errors=True)
    os.symlink(r.upstream / "logs", r.workspace / ".git" / "logs")


def redirect_hooks(r):
    shutil.rmtree(r.workspace / ".git" / "hooks")
    os.symlink(r.upstream / "hooks", r.workspace / ".git" / "hooks")


def redirect_worktree(r):
    git("config", "core.worktree", str(r.upstream), cwd=r.workspace)


@pytest.mark.parametrize("how", [redirect_git_file, redirect_git_symlink, redirect_commondir, redirect_refs,
                                 redirect_branch_folder, redirect_logs, redirect_hooks, redirect_worktree],
                         ids=lambda f: f.__name__)
def test_a_workspace_that_is_not_its_own_repository_is_refused(repos, how, tmp_path):
    r = repos
    # The attack of issue 20: ws/.git is `gitdir: <upstream>`, and origin is the fork in ~/.gitconfig.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f'[remote "origin"]\n\turl = file://{r.fork}\n')
    how(r)
    env = {"HOME": str(home)}
    for verb in (["create-branch", "evil"], ["commit", "-m", "evil"], ["push"], ["clone-or-pull"],
                 ["sync-upstream"], ["install-hooks"], ["build"]):
        err = r.run(*verb, ok=False, env=env)["error"]
        assert err["code"] in ("workspace_redirected", "workspace_not_fork"), (verb, err)
    assert "agent-improvement/evil" not in refs(r.upstream)


def write_sandbox(r):
    return r.run("check-guard")["data"]["write_sandbox"]


def test_a_branch_folder_swapped_during_branch_creation_never_reaches_the_upstream(repos):
    """The workspace is the agent's: it can swap a folder inside .git between a check
    and libgit2's write. A thread flips refs/heads/agent-improvement between the real
    folder and a symlink into the upstream's refs/heads while agentron-fork creates 100
    branches; the kernel's write sandbox keeps every write in the workspace."""
    r = repos
    if "not enforced" in write_sandbox(r):
        pytest.skip("this kernel has no Landlock ABI 2: the window this test probes is open (docs/fork.md)")
    folder = r.workspace / ".git" / "refs" / "heads" / "agent-improvement"
    aside = folder.with_name("agent-improvement.real")
    stop = threading.Event()

    flips = []

    def settle():
        """The real folder back in place, whatever agentron-fork created meanwhile."""
        if folder.is_symlink():
            os.remove(folder)
        elif folder.is_dir() and aside.exists():
            shutil.rmtree(folder)
        if aside.exists():
            os.rename(aside, folder)

    def swap():
        # Phases of random length around one agentron-fork run: some runs see only the
        # real folder, some only the symlink, some both. stop.wait() is the phase's
        # length, and ends it at once when the test is over.
        while not stop.is_set():
            try:
                os.rename(folder, aside)
                os.symlink(r.upstream / "refs" / "heads", folder)
                stop.wait(random.uniform(0, 0.01))
                os.remove(folder)
                os.rename(aside, folder)
                flips.append(1)
            except OSError:  # agentron-fork created the folder in an instant between two steps
                settle()
            stop.wait(random.uniform(0, 0.01))

    swapper = threading.Thread(target=swap)
    swapper.start()
    outcomes = []
    try:
        for i in range(100):
            out = subprocess.run([str(FORK), "create-branch", f"b{i}", "--config", str(r.config), "--json"],
                                 capture_output=True, text=True, timeout=60)
            r.outputs.append(out.stdout + out.stderr)
            outcomes.append(out.returncode)
            git("symbolic-ref", "HEAD", "refs/heads/main", cwd=r.workspace)  # outside the swapped folder
    finally:
        stop.set()
        swapper.join()
        settle()
    assert len(flips) >= 20
    assert 0 in outcomes and 1 in outcomes, outcomes
    assert not [ref for ref in refs(r.upstream).splitlines() if "/b" in ref]


# --- 3. the fork location cannot redirect to the upstream ----------------------------

def fork_behind(tmp_path, **keys):
    """A Repos whose fork_url is a path that is a symlink to the real fork, set up (clone,
    branch, commit) while it still points there."""
    r = Repos(tmp_path, fork_url=f"file://{tmp_path}/forkpath", **keys)
    os.symlink(r.fork, tmp_path / "forkpath")
    r.run("clone-or-pull")
    r.run("create-branch", "x")
    r.edit_and_commit(docs=True)
    # The workspace keeps pointing at the real fork: only the configured location moves.
    git("config", "remote.origin.url", f"file://{r.fork}", cwd=r.workspace)
    return r


@pytest.mark.parametrize("how", ["a folder with a .git file", "a repository with a commondir", "a symlink"])
def test_a_fork_path_that_leads_to_the_upstream_is_refused(tmp_path, how):
    r = fork_behind(tmp_path)
    forkpath = tmp_path / "forkpath"
    os.remove(forkpath)
    if how == "a folder with a .git file":
        forkpath.mkdir()
        (forkpath / ".git").write_text(f"gitdir: {r.upstream}\n")
    elif how == "a repository with a commondir":
        git("init", "-q", "--bare", str(forkpath))
        (forkpath / "commondir").write_text(f"{r.upstream}\n")
    else:
        os.symlink(r.upstream, forkpath)
    err = r.run("push", ok=False)["error"]
    assert err["code"] in ("push_refused", "workspace_not_fork"), err
    assert r.run("ensure-fork", ok=False)["error"]["code"] == "fork_is_upstream"
    assert "refs/heads/agent-improvement/x" not in refs(r.fork)
    checked_after(r)


def test_a_fork_symlink_swapped_during_pushes_never_reaches_the_upstream(tmp_path):
    """A thread swaps the fork's path between the fork and the upstream as fast as it
    can (an atomic rename of a new symlink over it) while agentron-fork commits and
    pushes 100 times."""
    r = fork_behind(tmp_path)
    forkpath = tmp_path / "forkpath"
    stop = threading.Event()

    def swap():
        targets = [r.upstream, r.fork]
        i = 0
        while not stop.is_set():
            tmp = tmp_path / f"forkpath.{i % 2}"
            os.symlink(targets[i % 2], tmp)
            os.replace(tmp, forkpath)
            i += 1

    swapper = threading.Thread(target=swap)
    swapper.start()
    outcomes = []
    try:
        for i in range(100):
            (r.workspace / "README.md").write_text(f"# app\ntry {i}\n")
            git("commit", "-qam", f"try {i}", cwd=r.workspace)  # git itself: no guard involved
            out = subprocess.run([str(FORK), "push", "--config", str(r.config), "--json"], capture_output=True,
                                 text=True, timeout=60, env={**os.environ, "AGENTRON_FORK_TOKEN": TOKEN})
            r.outputs.append(out.stdout + out.stderr)
            outcomes.append(out.returncode)
    finally:
        stop.set()
        swapper.join()
    # Both outcomes happened: the race was real, and the upstream never saw a push.
    assert 0 in outcomes and 1 in outcomes, outcomes
    assert "refs/heads/agent-improvement/x" in refs(r.fork)
    checked_after(r)


@pytest.mark.parametrize("look_alike", ["FORK.git", "fork"])
def test_a_look_alike_of_the_fork_is_not_the_fork(repos, look_alike):
    r = repos
    other = r.tmp / look_alike
    git("clone", "-q", "--bare", str(r.upstream), str(other))
    before = refs(other)
    for url in (str(other), f"file://{other}"):
        git("config", "remote.origin.pushurl", url, cwd=r.workspace)
        err = r.run("push", ok=False)["error"]
        assert err["code"] == "push_refused" and "which is not the configured fork" in err["message"]
        assert check_guard_url(r, url).returncode == 1
    assert refs(other) == before


# --- 4. the token stays with the push ------------------------------------------------

PRINTING_BUILD = ["sh", "-c", 'echo "env: $(env)"; env > env.txt; echo "token: $AGENTRON_FORK_TOKEN $GH_TOKEN"; '
                              'cat "$LEAK" 2>/dev/null; echo "url: https://bot:$(cat "$LEAK")@example.invalid/x"']


def test_no_build_test_or_release_sees_or_logs_the_token(tmp_path):
    leak = tmp_path / "leak-source"  # a token the build found some other way: its log is scrubbed anyway
    leak.write_text(TOKEN + "\n")
    r = Repos(tmp_path / "t", build=PRINTING_BUILD, test=PRINTING_BUILD)
    env = {"GH_TOKEN": TOKEN, "LEAK": str(leak)}
    r.run("clone-or-pull", env=env)
    for verb in ("build", "test"):
        out = r.run(verb, env=env)["data"]
        log = Path(out["log"]).read_text()
        assert "env: " in log and "token:  " in log and "AGENTRON_FORK_TOKEN" not in log and "***" in log
    assert not any("AGENTRON_FORK_TOKEN" in line for line in (r.workspace / "env.txt").read_text().splitlines())
    head = git("rev-parse", "HEAD", cwd=r.workspace).stdout.strip()
    made = r.run("release", head, env=env)["data"]
    assert "GH_TOKEN" not in (Path(made["dir"]) / "env.txt").read_text()
    assert "***" in Path(made["log"]).read_text()
    assert files_containing(tmp_path, TOKEN, skip={leak}) == []
    r.assert_upstream_unchanged()


def test_the_credentials_file_is_used_only_by_the_verbs_that_talk_to_the_fork(tmp_path):
    """build and test read it too, only to scrub the token from their logs
    (test_fork_same_user.py): they run with a file others can read, and warn."""
    creds = tmp_path / "token"
    creds.write_text(TOKEN + "\n")
    creds.chmod(0o644)  # readable by others: every verb that sends the token refuses
    r = Repos(tmp_path / "c", credentials_file=str(creds))
    no_env = {"AGENTRON_FORK_TOKEN": ""}
    assert r.run("clone-or-pull", ok=False, env=no_env)["error"]["code"] == "credentials_exposed"
    creds.chmod(0o600)
    r.run("clone-or-pull", env=no_env)
    creds.chmod(0o644)
    for verb in (["build"], ["test"]):
        assert "readable by others" in " ".join(r.run(*verb, env=no_env).get("warnings", [])), verb
    for verb in (["check-guard"], ["create-branch", "y"], ["install-hooks"]):
        assert "warnings" not in r.run(*verb, env=no_env), verb  # none of them opens the file
    for verb in (["push"], ["release", "HEAD"], ["ensure-fork"]):
        assert r.run(*verb, ok=False, env=no_env)["error"]["code"] == "credentials_exposed", verb
    checked_after(r)


def test_the_token_goes_to_the_forks_exact_origin_only(tmp_path):
    from git_http_server import GitHttpServer
    served = fill_served(tmp_path / "served", tmp_path / "staging")
    with GitHttpServer(served, user="x-access-token", token=TOKEN, protected={"fork.git"}) as fork_port, \
            GitHttpServer(served, user="x-access-token", token=TOKEN, protected={"fork.git"}) as other_port:
        r = Repos(tmp_path / "http", fork_url=fork_port.url("fork.git"), upstream_url=fork_port.url("upstream.git"))
        r.run("clone-or-pull")
        r.run("create-branch", "y")
        r.edit_and_commit(docs=True)
        # The same host and path on another port is not the fork: neither as the push URL
        # nor as the URL the workspace fetches from.
        git("config", "remote.origin.pushurl", other_port.url("fork.git"), cwd=r.workspace)
        assert r.run("push", ok=False)["error"]["code"] == "push_refused"
        git("config", "--unset", "remote.origin.pushurl", cwd=r.workspace)
        git("config", "remote.origin.url", other_port.url("fork.git"), cwd=r.workspace)
        for verb in (["push"], ["clone-or-pull"]):
            assert r.run(*verb, ok=False)["error"]["code"] == "workspace_not_fork"
        head = git("rev-parse", "HEAD~1", cwd=r.workspace).stdout.strip()
        r.run("release", head)  # from exactly fork_url, whatever the workspace says
        assert other_port.requests == []
        assert not any(auth for _, path, auth in fork_port.requests if path.startswith("/upstream.git"))
    assert files_containing(tmp_path, TOKEN) == []


# --- 5. releases only of what the fork has -------------------------------------------

def test_release_does_not_trust_a_forged_remote_tracking_ref(repos):
    r = repos
    local_only = git("rev-parse", "HEAD", cwd=r.workspace).stdout.strip()
    git("update-ref", "refs/remotes/origin/x", local_only, cwd=r.workspace)
    git("update-ref", "refs/remotes/origin/main", local_only, cwd=r.workspace)
    for args in (["release", local_only], ["release", local_only, "--branch", "x"],
                 ["release", local_only, "--branch", "main"]):
        err = r.run(*args, ok=False)["error"]
        assert err["code"] == "not_on_fork", args
    assert not (r.tmp / "releases" / local_only).exists()


def test_release_forgets_a_branch_the_fork_deleted(repos):
    r = repos
    r.run("push")
    pushed = git("rev-parse", "HEAD", cwd=r.workspace).stdout.strip()
    r.run("release", pushed, "--branch", "agent-improvement/x")  # the mirror has the branch now
    git("push", "-q", str(r.fork), ":agent-improvement/x", cwd=r.workspace)
    err = r.run("release", pushed, ok=False)["error"]
    assert err["code"] == "not_on_fork"
