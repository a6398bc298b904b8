"""agentron-fork against real git repositories: bare repos over file:// and over the
git protocol (a `git daemon` this test starts on loopback). The upstream's refs are
checked unchanged after every refused push."""
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from fork_env import FORK, TOKEN, Repos, fill_served, git, refs
from harness import free_port, poll_until


@pytest.fixture
def repos(tmp_path):
    r = Repos(tmp_path)
    yield r
    for output in r.outputs:
        assert TOKEN not in output


def test_clone_branch_commit_push_reaches_the_fork_only(repos):
    cloned = repos.run("clone-or-pull")["data"]
    assert cloned["action"] == "cloned" and cloned["branch"] == "main"
    assert git("remote", "get-url", "--push", "upstream", cwd=repos.workspace).stdout.startswith("DISABLED")
    branch = repos.run("create-branch", "better-logs")["data"]["branch"]
    assert branch == "agent-improvement/better-logs"
    commit = repos.edit_and_commit(docs=True)["data"]["commit"]
    pushed = repos.run("push")["data"]
    assert pushed["commit"] == commit
    assert git("rev-parse", f"refs/heads/{branch}", cwd=repos.fork).stdout.strip() == commit
    repos.assert_upstream_unchanged()
    assert repos.run("clone-or-pull")["data"]["action"] == "up to date"


def test_commit_without_docs_warns_or_is_refused(repos, tmp_path):
    repos.run("clone-or-pull")
    out = repos.edit_and_commit()
    assert "code changed but no documentation" in out["warnings"][0]
    strict = Repos(tmp_path / "strict", docs_required=True)
    strict.run("clone-or-pull")
    (strict.workspace / "src" / "app.js").write_text("x\n")
    err = strict.run("commit", "-m", "code only", ok=False)["error"]
    assert err["code"] == "docs_required"
    assert git("status", "--porcelain", cwd=strict.workspace).stdout.strip() == "M src/app.js"  # nothing staged


@pytest.mark.parametrize("how,setup", [
    ("pushurl is the upstream", lambda r: git("config", "remote.origin.pushurl", str(r.upstream), cwd=r.workspace)),
    ("pushurl is the upstream as file://", lambda r: git("config", "remote.origin.pushurl", f"file://{r.upstream}/",
                                                           cwd=r.workspace)),
    ("a second pushurl is the upstream", lambda r: (git("config", "--add", "remote.origin.pushurl", f"file://{r.fork}",
                                                        cwd=r.workspace),
                                                    git("config", "--add", "remote.origin.pushurl", str(r.upstream),
                                                        cwd=r.workspace))),
    ("a second url is the upstream", lambda r: git("config", "--add", "remote.origin.url", str(r.upstream),
                                                   cwd=r.workspace)),
    ("insteadOf turns the fork into the upstream",
     lambda r: git("config", f"url.file://{r.upstream}.insteadOf", f"file://{r.fork}", cwd=r.workspace)),
    ("pushInsteadOf turns the fork into the upstream",
     lambda r: git("config", f"url.{r.upstream}.pushInsteadOf", f"file://{r.fork}", cwd=r.workspace)),
    ("a symlink to the upstream", lambda r: (os.symlink(r.upstream, r.tmp / "looks-harmless.git"),
                                             git("config", "remote.origin.pushurl", str(r.tmp / "looks-harmless.git"),
                                                 cwd=r.workspace))),
])
def test_every_way_to_aim_at_the_upstream_is_refused(repos, how, setup):
    repos.run("clone-or-pull")
    repos.run("create-branch", "x")
    repos.edit_and_commit(docs=True)
    setup(repos)
    err = repos.run("push", ok=False)["error"]
    # insteadOf rewrites fetching too: then the workspace itself no longer counts as the fork's clone.
    assert err["code"] in ("push_refused", "workspace_not_fork"), how
    assert "upstream" in err["message"] and str(repos.upstream) in err["message"], how
    repos.assert_upstream_unchanged()
    assert "refs/heads/agent-improvement/x" not in refs(repos.fork)


def test_an_origin_that_is_the_upstream_is_refused(repos):
    git("clone", "-q", str(repos.upstream), str(repos.workspace))  # someone cloned the upstream to edit it
    for verb in (["clone-or-pull"], ["push"], ["commit", "-m", "x"]):
        err = repos.run(*verb, ok=False)["error"]
        assert err["code"] == "workspace_not_fork", verb
    repos.assert_upstream_unchanged()


def test_the_pre_push_hook_guards_a_plain_git_push(repos):
    repos.run("clone-or-pull")
    repos.run("install-hooks")
    repos.run("create-branch", "hooked")
    repos.edit_and_commit(docs=True)
    to_upstream = git("push", str(repos.upstream), "HEAD", cwd=repos.workspace, check=False)
    assert to_upstream.returncode != 0
    assert f"refusing to push to the upstream file://{repos.upstream}" in to_upstream.stderr
    git("config", "remote.origin.pushurl", str(repos.upstream), cwd=repos.workspace)
    assert git("push", "origin", "HEAD", cwd=repos.workspace, check=False).returncode != 0
    repos.assert_upstream_unchanged()
    git("config", "--unset", "remote.origin.pushurl", cwd=repos.workspace)
    git("push", "origin", "HEAD", cwd=repos.workspace)  # the fork: allowed
    assert "refs/heads/agent-improvement/hooked" in refs(repos.fork)


def test_check_guard_reports_each_remote(repos):
    repos.run("clone-or-pull")
    remotes = {r["remote"]: r for r in repos.run("check-guard")["data"]["remotes"]}
    assert remotes["origin"]["push_allowed"] is True
    assert remotes["upstream"]["push_allowed"] is False


def test_pull_refuses_a_dirty_tree_and_a_diverged_branch(repos, tmp_path):
    repos.run("clone-or-pull")
    (repos.workspace / "src" / "app.js").write_text("dirty\n")
    assert repos.run("clone-or-pull", ok=False)["error"]["code"] == "dirty"
    git("checkout", "--", ".", cwd=repos.workspace)
    other = tmp_path / "other"
    git("clone", "-q", str(repos.fork), str(other))
    (other / "README.md").write_text("other\n")
    git("commit", "-qam", "other", cwd=other)
    git("push", "-q", "origin", "main", cwd=other)
    repos.edit_and_commit(docs=True)
    head = git("rev-parse", "HEAD", cwd=repos.workspace).stdout
    err = repos.run("clone-or-pull", ok=False)["error"]
    assert err["code"] == "diverged" and "nothing was changed" in err["message"]
    assert git("rev-parse", "HEAD", cwd=repos.workspace).stdout == head


def test_sync_upstream_conflict_leaves_everything_as_it_was(repos, tmp_path):
    repos.run("clone-or-pull")
    upstream_work = tmp_path / "up-work"
    git("clone", "-q", str(repos.upstream), str(upstream_work))
    (upstream_work / "README.md").write_text("# app\nupstream edit\n")
    git("commit", "-qam", "upstream edit", cwd=upstream_work)
    git("push", "-q", "origin", "main", cwd=upstream_work)
    (repos.workspace / "README.md").write_text("# app\nagent edit\n")
    repos.run("commit", "-m", "agent edit")
    head = git("rev-parse", "HEAD", cwd=repos.workspace).stdout
    err = repos.run("sync-upstream", ok=False)["error"]
    assert err["code"] == "conflict" and "README.md" in err["message"]
    assert git("rev-parse", "HEAD", cwd=repos.workspace).stdout == head
    assert git("status", "--porcelain", cwd=repos.workspace).stdout == ""
    assert (repos.workspace / "README.md").read_text() == "# app\nagent edit\n"


def test_sync_upstream_merges_a_clean_change_and_never_pushes(repos, tmp_path):
    repos.run("clone-or-pull")
    upstream_work = tmp_path / "up-work"
    git("clone", "-q", str(repos.upstream), str(upstream_work))
    (upstream_work / "NEW.md").write_text("new upstream file\n")
    git("add", ".", cwd=upstream_work)
    git("commit", "-qm", "upstream adds a file", cwd=upstream_work)
    git("push", "-q", "origin", "main", cwd=upstream_work)
    repos.edit_and_commit(docs=True)
    fork_refs = refs(repos.fork)
    out = repos.run("sync-upstream")["data"]
    assert out["changed"] and out["pushed"] is False
    assert (repos.workspace / "NEW.md").exists()
    assert refs(repos.fork) == fork_refs


def test_release_builds_pushed_commits_only(repos):
    repos.run("clone-or-pull")
    repos.run("create-branch", "rel")
    local_only = repos.edit_and_commit(docs=True)["data"]["commit"]
    err = repos.run("release", local_only, ok=False)["error"]
    assert err["code"] == "not_on_fork"
    repos.run("push")
    made = repos.run("release", local_only[:10])["data"]
    release = repos.tmp / "releases" / local_only
    assert made["commit"] == local_only and (release / "built.txt").read_text() == "built\n"
    assert json.loads((release / "release.json").read_text())["build_status"] == "ok"
    assert not (release / ".git").exists()
    # Never reused: built again, into a folder of its own beside the first.
    again = Path(repos.run("release", local_only)["data"]["dir"])
    assert again.parent == release.parent and again.name.startswith(local_only + "-")
    assert (again / "built.txt").read_text() == "built\n" and (release / "built.txt").exists()


def test_old_releases_are_pruned_but_never_the_current_one(tmp_path):
    r = Repos(tmp_path, keep_releases=1)
    r.run("clone-or-pull")
    commits = []
    for i in range(3):
        (r.workspace / "README.md").write_text(f"# app v{i}\n")
        commits.append(r.run("commit", "-m", f"v{i}")["data"]["commit"])
        r.run("push")
        r.run("release", commits[-1])
        if i == 0:  # the supervisor runs the first release: [app] release points at it
            text = r.config.read_text().replace('[app]\n', f'[app]\nrelease = "{tmp_path}/releases/{commits[0]}"\n')
            r.config.write_text(text)
    kept = sorted(p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith("."))
    assert kept == sorted([commits[0], commits[2]])


def test_a_failing_build_leaves_no_release(tmp_path):
    r = Repos(tmp_path, build=["sh", "-c", "echo compiling; echo broken >&2; exit 3"])
    r.run("clone-or-pull")
    head = git("rev-parse", "HEAD", cwd=r.workspace).stdout.strip()
    err = r.run("release", head, ok=False)["error"]
    assert err["code"] == "build_failed" and "exit code 3" in err["message"] and "broken" in err["message"]
    # No release folder: only the log and the mirror of the fork's branches.
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == [".fork.git", ".logs"]


def test_the_token_never_shows_even_in_the_fork_url(tmp_path):
    r = Repos(tmp_path)
    r.run("clone-or-pull")
    # A token someone put into the URL itself, and a failing operation that names the URL.
    git("config", "remote.origin.pushurl", f"https://bot:{TOKEN}@example.invalid/x.git", cwd=r.workspace)
    r.run("push", ok=False)
    r.run("check-guard", ok=False)
    for output in r.outputs:
        assert TOKEN not in output


@pytest.fixture
def git_daemon(tmp_path):
    port = free_port()
    base = tmp_path / "served"
    base.mkdir()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                               f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    poll_until(listening, 10, "git daemon listening")
    yield base, port
    daemon.terminate()
    daemon.wait(timeout=10)


def test_over_the_git_protocol(tmp_path, git_daemon):
    base, port = git_daemon
    fill_served(base, tmp_path / "staging")
    r = Repos(tmp_path / "proto", fork_url=f"git://127.0.0.1:{port}/fork.git",
              upstream_url=f"git://127.0.0.1:{port}/upstream.git")
    upstream_refs = refs(base / "upstream.git")
    assert r.run("ensure-fork")["data"]["default_branch"] == "main"
    r.run("clone-or-pull")
    r.run("create-branch", "over-git")
    commit = r.edit_and_commit(docs=True)["data"]["commit"]
    r.run("push")
    assert f"{commit}" in refs(base / "fork.git")
    git("config", "remote.origin.pushurl", f"git://127.0.0.1:{port}/UPSTREAM.git/", cwd=r.workspace)
    err = r.run("push", ok=False)["error"]
    assert f"refusing to push to the upstream git://127.0.0.1:{port}/upstream.git" in err["message"]
    assert refs(base / "upstream.git") == upstream_refs


def test_over_https_style_basic_auth_the_token_goes_to_the_fork_only(tmp_path):
    from git_http_server import GitHttpServer
    served = fill_served(tmp_path / "served", tmp_path / "staging")
    with GitHttpServer(served, user="x-access-token", token=TOKEN, protected={"fork.git"}) as server:
        r = Repos(tmp_path / "http", fork_url=server.url("fork.git"), upstream_url=server.url("upstream.git"))
        upstream_refs = refs(served / "upstream.git")
        r.run("clone-or-pull")
        r.run("create-branch", "over-http")
        commit = r.edit_and_commit(docs=True)["data"]["commit"]
        r.run("push")
        assert commit in refs(served / "fork.git")
        r.run("sync-upstream")  # the upstream is fetched without credentials
        assert not any(auth for _, path, auth in server.requests if path.startswith("/upstream.git"))
        assert any(auth for _, path, auth in server.requests if path.startswith("/fork.git"))
        # A wrong token: refused by the server, and it does not show either.
        wrong = "ghp_wrong-token-ALSO-SECRET-987"
        (r.workspace / "README.md").write_text("# app\nagain\n")
        r.run("commit", "-m", "again")
        out = subprocess.run([str(FORK), "push", "--config", str(r.config), "--json"], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "AGENTRON_FORK_TOKEN": wrong})
        assert out.returncode == 1 and wrong not in out.stdout + out.stderr
        assert "authentication" in json.loads(out.stdout)["error"]["message"].lower() or \
               "401" in json.loads(out.stdout)["error"]["message"]
        assert refs(served / "upstream.git") == upstream_refs
    for output in r.outputs:
        assert TOKEN not in output


def test_ensure_fork_creates_a_missing_fork_through_the_github_api(tmp_path):
    """A loopback stand-in for api.github.com: POST /repos/{owner}/{repo}/forks answers
    202 and makes the fork as GitHub does — reachable at once but empty, its branches
    copied a moment later. The helper waits for the branches."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    served = tmp_path / "served"
    (served / "cap-jmk-real").mkdir(parents=True)
    (served / "agentron-bot").mkdir()
    staging = Repos(tmp_path / "staging")
    git("clone", "-q", "--bare", str(staging.upstream), str(served / "cap-jmk-real" / "agentron.git"))
    calls = []

    class Api(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            calls.append((self.path, self.headers.get("Authorization")))
            ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            self.send_response(202 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"clone_url": "..."}')
            if ok:
                fork = served / "agentron-bot" / "agentron.git"
                git("init", "-q", "--bare", "--initial-branch=main", str(fork))
                threading.Timer(1.0, lambda: git("push", "-q", str(fork), "refs/heads/*:refs/heads/*",
                                                 cwd=served / "cap-jmk-real" / "agentron.git")).start()

    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        r = Repos(tmp_path / "create", fork_url=f"file://{served}/agentron-bot/agentron.git",
                  upstream_url=f"file://{served}/cap-jmk-real/agentron.git",
                  api_url=f"http://127.0.0.1:{api.server_address[1]}/")
        err = r.run("ensure-fork", ok=False)["error"]
        assert err["code"] == "fork_unreachable" and "ensure-fork --create" in err["message"]
        out = r.run("ensure-fork", "--create", "--wait", "30s")["data"]
        assert out["created"] is True and out["default_branch"] == "main" and out["branches"] >= 1
        assert calls == [("/repos/cap-jmk-real/agentron/forks", f"Bearer {TOKEN}")]
    finally:
        api.shutdown()
        api.server_close()


def test_commit_takes_new_modified_and_deleted_files_and_only_the_given_paths(repos):
    repos.run("clone-or-pull")
    (repos.workspace / "src" / "new.js").write_text("new\n")
    (repos.workspace / "src" / "app.js").write_text("changed\n")
    (repos.workspace / "docs").mkdir()
    (repos.workspace / "docs" / "notes.md").write_text("notes\n")
    git("rm", "-q", "README.md", cwd=repos.workspace)
    only_src = repos.run("commit", "-m", "src only", "src")["data"]
    assert sorted(only_src["paths"]) == ["src/app.js", "src/new.js"]
    assert git("status", "--porcelain", cwd=repos.workspace).stdout.splitlines() == ["D  README.md", "?? docs/"]
    rest = repos.run("commit", "-m", "the rest")["data"]
    assert sorted(rest["paths"]) == ["README.md", "docs/notes.md"]
    assert git("status", "--porcelain", cwd=repos.workspace).stdout == ""
    assert git("show", "--stat", "--format=", "HEAD", cwd=repos.workspace).stdout.count("|") == 2
