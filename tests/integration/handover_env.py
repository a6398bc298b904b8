"""A restart-from-fork setup on real git repositories and the fixture app: a bare
"upstream" and "fork", the agent's clone it commits in, the fork workspace the
supervisor builds from, and an initial release. A release is built by the commit's
own build.sh (it copies the fixture binary in); its app.sh decides how that release's
app behaves (fixture fault modes), so a commit can be good, crash, never get ready
or delete rows."""
import json
import os
import sqlite3
import subprocess
from pathlib import Path

from harness import FIXTURE, Supervisor, free_port

APP_SH = """#!/bin/sh
# this release's app: the fixture, behaving as this commit says
{exports}
exec "$(dirname "$0")/agentron-fixture"
"""
BUILD_SH = """#!/bin/sh
{build}
cp "$AGENTRON_TEST_FIXTURE" ./agentron-fixture && chmod +x app.sh && echo built
"""
BRANCH = "agent-improvement/faster"


def git(*args, cwd=None):
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "GIT_AUTHOR_NAME": "agent", "GIT_AUTHOR_EMAIL": "a@a",
                            "GIT_COMMITTER_NAME": "agent", "GIT_COMMITTER_EMAIL": "a@a"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class HandoverEnv:
    def __init__(self, tmp, handover=None, health=None, initial_exports="export FIXTURE_SEED_AGENTS=3", proxy=None,
                 app=None, fixture=FIXTURE, fork=None, control=None):
        self.tmp = Path(tmp)
        self.dev = self.tmp / "dev"
        git("init", "-q", "-b", "main", str(self.dev))
        self.write_release_files(self.dev, initial_exports, "")
        git("add", ".", cwd=self.dev)
        git("commit", "-qm", "initial", cwd=self.dev)
        self.upstream = self.tmp / "upstream.git"
        self.fork = self.tmp / "fork.git"
        git("clone", "-q", "--bare", str(self.dev), str(self.upstream))
        git("clone", "-q", "--bare", str(self.dev), str(self.fork))
        git("remote", "add", "fork", str(self.fork), cwd=self.dev)
        git("checkout", "-q", "-b", BRANCH, cwd=self.dev)
        self.workspace = self.tmp / "ws"
        git("clone", "-q", f"file://{self.fork}", str(self.workspace))
        # The install the supervisor starts from, as an operator would have it.
        self.initial = self.tmp / "initial-release"
        self.initial.mkdir()
        self.write_release_files(self.initial, initial_exports, "")
        (self.initial / "agentron-fixture").write_bytes(Path(fixture).read_bytes())
        (self.initial / "agentron-fixture").chmod(0o755)
        (self.initial / "app.sh").chmod(0o755)
        self.alternate_port = free_port()
        self.supervisor = Supervisor(
            self.tmp / "sup",
            app={"release": str(self.initial), "command": ["{release}/app.sh"], **(app or {})},
            extra={
                "health": {"readiness": "http", "verification": "probe", "interval": "50ms", "timeout": "10s",
                           **(health or {})},
                "fork": {"workspace": str(self.workspace), "fork_url": f"file://{self.fork}",
                         "upstream_url": f"file://{self.upstream}", "build": ["sh", "build.sh"], "test": ["true"],
                         "releases_dir": str(self.tmp / "releases"), "build_timeout": "60s", **(fork or {})},
                "handover": {"verify_timeout": "20s", "alternate_port": self.alternate_port, **(handover or {})},
                **({"proxy": proxy} if proxy else {}),
                **({"control": control} if control else {}),
            },
            env={"AGENTRON_TEST_FIXTURE": str(fixture)})
        self.data_dir = self.supervisor.data_dir
        self.state_dir = Path((app or {}).get("state_dir", self.data_dir / ".supervisor"))

    @staticmethod
    def write_release_files(where, exports, build):
        (where / "app.sh").write_text(APP_SH.format(exports=exports))
        (where / "build.sh").write_text(BUILD_SH.format(build=build))

    def commit(self, exports="", build="", push=True, message="an improvement"):
        """A commit on the agent's branch whose release behaves as `exports` says."""
        self.write_release_files(self.dev, exports or "# (no fault)", build)
        (self.dev / "CHANGES").write_text(message + "\n" + (self.dev / "CHANGES").read_text()
                                          if (self.dev / "CHANGES").exists() else message + "\n")
        git("add", ".", cwd=self.dev)
        git("commit", "-qm", message, cwd=self.dev)
        if push:
            git("push", "-q", "fork", BRANCH, cwd=self.dev)
        return git("rev-parse", "HEAD", cwd=self.dev)

    def request(self, commit, summary="faster search", branch=BRANCH, when="now"):
        r = self.supervisor.cli("request-restart", "--state-dir", str(self.state_dir), "--branch", branch,
                                "--commit", commit, "--summary", summary, "--run-id", "run-1", "--when", when)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def wait_outcome(self, request_id, timeout=60):
        m = self.supervisor.wait_log(rf"request {request_id}: (done|rolled_back|rejected)\b(.*)", timeout=timeout)
        return m.group(1), m.group(2)

    def history(self):
        r = self.supervisor.cli("history", "--json", "--state-dir", str(self.state_dir))
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def request_row(self, request_id):
        return next(r for r in self.history()["requests"] if r["id"] == request_id)

    def phases(self, request_id):
        db = sqlite3.connect(f"file:{self.state_dir / 'history.sqlite'}?mode=ro", uri=True)
        try:
            return [p for (p,) in db.execute("SELECT phase FROM request_phases WHERE request_id = ? ORDER BY id",
                                             (request_id,))]
        finally:
            db.close()

    def db_count(self, sql):
        # Read-write: a hot journal left by a SIGKILLed instance is rolled back, as by the app.
        db = sqlite3.connect(self.data_dir / "agentron.sqlite", timeout=10)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
