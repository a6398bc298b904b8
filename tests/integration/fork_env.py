"""Real git repositories for the agentron-fork tests: a bare upstream, a bare fork
cloned from it, the agent's workspace (cloned by agentron-fork) and a config that ties
them together. Also what every guard test checks afterwards: the upstream byte for
byte as it was, and the token in no file."""
import hashlib
import json
import os
import subprocess
from pathlib import Path

from harness import BIN, write_config

FORK = BIN / "agentron-fork"
TOKEN = "ghp_test-token-SHOULD-NEVER-BE-SHOWN-1234"


def git(*args, cwd=None, check=True, env=None):
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t", **(env or {})})
    if check:
        assert r.returncode == 0, r.stderr
    return r


def refs(repo):
    return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=repo).stdout


class Repos:
    def __init__(self, tmp, fork_url=None, upstream_url=None, app=None, **fork_keys):
        """`app`: more [app] keys (user = "nobody", say); the rest are [fork] keys."""
        self.tmp = tmp
        seed = tmp / "seed"
        git("init", "-q", "-b", "main", str(seed))
        (seed / "README.md").write_text("# app\nline two\n")
        (seed / "src").mkdir()
        (seed / "src" / "app.js").write_text("console.log(1)\n")
        git("add", ".", cwd=seed)
        git("commit", "-qm", "init", cwd=seed)
        self.upstream = tmp / "upstream.git"
        self.fork = tmp / "fork.git"
        git("clone", "-q", "--bare", str(seed), str(self.upstream))
        git("clone", "-q", "--bare", str(self.upstream), str(self.fork))
        self.workspace = tmp / "ws"
        self.config = tmp / "agentron-supervisor.toml"
        keys = {"workspace": str(self.workspace), "fork_url": fork_url or f"file://{self.fork}",
                "upstream_url": upstream_url or f"file://{self.upstream}",
                "build": ["sh", "-c", "echo building; echo built > built.txt"], "test": ["true"],
                "releases_dir": str(tmp / "releases")}
        keys.update(fork_keys)
        app_keys = {"data_dir": str(tmp / "data"), "command": ["true"], **(app or {})}
        if "user" in app_keys:  # the supervisor's state must then be out of the data dir
            app_keys.setdefault("state_dir", str(tmp / "state"))
        write_config(self.config, {"app": app_keys, "fork": keys})
        self.upstream_refs = refs(self.upstream)
        self.upstream_before = upstream_state(self.upstream)
        self.outputs = []

    def run(self, *args, ok=True, env=None, user=None, cwd=None, fork=FORK):
        """agentron-fork with the token in its environment; `user` (a pwd entry): as that user."""
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
        r = subprocess.run([str(fork), *args, "--config", str(self.config), "--json"], capture_output=True, text=True,
                           timeout=120, cwd=cwd, env={**os.environ, "AGENTRON_FORK_TOKEN": TOKEN, **(env or {})},
                           **as_user)
        self.outputs.append(r.stdout + r.stderr)
        out = json.loads(r.stdout)
        assert out["ok"] == ok, out
        assert (r.returncode == 0) == ok
        return out

    def edit_and_commit(self, text="console.log(2)\n", docs=False):
        (self.workspace / "src" / "app.js").write_text(text)
        if docs:
            (self.workspace / "README.md").write_text("# app\nnow logs 2\n")
        return self.run("commit", "-m", "log 2")

    def assert_upstream_unchanged(self):
        assert refs(self.upstream) == self.upstream_refs
        assert upstream_state(self.upstream) == self.upstream_before


def fill_served(base, staging_dir):
    """Bare upstream.git and fork.git in `base` for a server to serve (cloned from a
    Repos set up in `staging_dir`)."""
    base.mkdir(exist_ok=True)
    staging = Repos(staging_dir)
    for name in ("upstream.git", "fork.git"):
        git("clone", "-q", "--bare", str(staging.upstream), str(base / name))
    return base


def upstream_state(repo):
    """Every ref (as git lists them) and every file of a bare repository with a hash of
    its bytes: equal before and after iff nothing in it was written."""
    repo = Path(repo)
    files = {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(repo.rglob("*")) if p.is_file() and not p.is_symlink()}
    return refs(repo), files


def files_containing(root, secret, skip=()):
    """The files under `root` (not following symlinks) whose bytes contain `secret`."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or path in skip or not path.is_file():
                continue
            if secret.encode() in path.read_bytes():
                found.append(path)
    return found
