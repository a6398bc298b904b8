"""The agent's tools with the app as another user (issues 13 and 20; docs/security.md):
the supervisor runs as root, the app — and so the agent — as `nobody`, the supervisor's
state in a root-only state dir. Through the tool rows stored in the app, the seed's
flow runs end to end: agentron-fork's workspace verbs drop to nobody (the workspace is
nobody's), the release is built and sealed, and the restart the agent asked for waits
for the operator. The agent's own token cannot approve it, and nobody can read the
operator's token; the operator's approves it and the new release serves the same data."""
import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from agent_tools_env import BRANCH, ToolsEnv, edit_as_the_agent, push_an_improvement
from fork_env import upstream_state
from handover_env import HandoverEnv
from harness import FIXTURE, as_nobody

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
NOBODY = pwd.getpwnam("nobody")


def give_to(path, user):
    for p in [path, *path.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid, follow_symlinks=False)


def not_nobodys(root):
    """Every entry under `root` (itself included, no symlink followed) that nobody does not own."""
    return [str(p) for p in [root, *root.rglob("*")] if os.lstat(p).st_uid != NOBODY.pw_uid]


@pytest.fixture
def privsep_tools():
    """A ToolsEnv as root with [app] user = "nobody", require_approval, state in a state dir
    of its own, and the workspace in `agent/` (nobody's) — in a folder nobody may pass
    through (pytest's tmp_path is root's 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix="agentron-tools-privsep-"))
    tmp.chmod(0o755)
    shutil.copy2(FIXTURE, tmp / "agentron-fixture")
    (tmp / "agent").mkdir()
    os.chown(tmp / "agent", NOBODY.pw_uid, NOBODY.pw_gid)
    state = tmp / "state"
    e = HandoverEnv(tmp, app={"user": "nobody", "state_dir": str(state)}, fixture=tmp / "agentron-fixture",
                    fork={"releases_dir": str(state / "releases"), "workspace": str(tmp / "agent" / "ws")},
                    handover={"require_approval": True},
                    control={"listen": "127.0.0.1:0", "header_timeout": "5s"})
    e.workspace = tmp / "agent" / "ws"
    give_to(e.fork, NOBODY)  # the agent's fork: nobody pushes to it
    try:
        yield ToolsEnv(e), state
    finally:
        e.supervisor.close()
        e.supervisor.kill_leftover_app()
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_seed_flow_runs_as_the_apps_user_and_only_the_operator_approves(privsep_tools):
    t, state = privsep_tools
    t.install()
    agent = t.agent()
    upstream_before = upstream_state(t.e.upstream)

    # The agent edits its workspace as itself; every tool wrote there as nobody too.
    commit = push_an_improvement(t, agent, edit=lambda ws: assert_as_nobody(lambda: edit_as_the_agent(ws)))
    assert not_nobodys(t.e.workspace) == []
    built = agent.wait_job(agent.call("run_build_agentron", {"wait_seconds": 0})["job_id"])
    assert built["state"] == "succeeded", built
    assert not_nobodys(t.e.workspace) == []

    # Neither token file is the app's to read: the agent has only what its rows hold.
    for name in ("operator.token", "api.token"):
        assert not as_nobody(lambda name=name: (state / name).read_text()), name
    assert t.operator_token not in (t.e.data_dir / "agentron.sqlite").read_bytes().decode(errors="replace")

    launched = agent.call("launch_new_agentron", {"branch": BRANCH, "summary": "faster search", "run_id": "run-9"})
    assert launched["state"] == "awaiting_approval" and launched["commit"] == commit, launched
    status, answer = t.api("POST", f"/v1/requests/{launched['id']}/approve", token="agent")
    assert (status, answer["error"]["code"]) == (403, "operator_only"), answer
    assert agent.call("restart_status", {"id": launched["id"]})["state"] == "awaiting_approval"
    assert t.s.status()["commit"] != commit

    status, answer = t.api("POST", f"/v1/requests/{launched['id']}/approve")  # the operator's token
    assert status == 200, answer
    done = agent.wait_request(launched["id"], ("done", "rolled_back", "rejected"))
    assert done["state"] == "done", done["phases"][-1]  # the last phase says why not
    now = agent.call("supervisor_status")
    assert now["commit"] == commit
    row = next(r for r in agent.call("platform_history")["requests"] if r["id"] == launched["id"])
    assert row["counts_before"]["agents"] == row["counts_after"]["agents"] == 3
    # The release was built as nobody and sealed root's; the upstream never moved.
    release = state / "releases" / commit
    assert os.stat(release).st_uid == 0 and not_nobodys(release) == [str(p) for p in [release, *release.rglob("*")]]
    assert upstream_state(t.e.upstream) == upstream_before
    t.assert_token_only_in_the_tool_rows()


def assert_as_nobody(action):
    assert as_nobody(action), "the action failed as nobody"
