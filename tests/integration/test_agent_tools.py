"""The agent's tools end to end (issue 13, docs/agent-tools.md): `agentron-tools install`
writes our rows into the fixture app's /api/tools (Agentron's own tool table), and
everything after that goes through `call_tool` — what Agentron's HTTP tool adapter does
with a stored row — against the real supervisor ([control], [fork] on local bare
repositories, [health] probe verification) and the real agentron-fork: the seed's
flow from fork to a verified restart into the agent's commit, with approval, with
`when: "idle"`, and the refusals. Afterwards the token is looked for everywhere: it
must be only in the token file and in Agentron's own tool rows."""
import json
import os
import signal
import sqlite3
import time

from agent_tools_env import ALL_TOOLS, BRANCH, OUR_PREFIX, http_json, push_an_improvement
from fork_env import refs, upstream_state
from handover_env import git
from harness import poll_until, wait_pid_gone

# -- agentron-tools install / uninstall / print ---------------------------------------


def test_install_writes_our_rows_idempotently_and_touches_no_other_tool(tools_env):
    t = tools_env()
    port = t.app_port
    foreign = [{"id": "my-own-tool", "name": "weather", "protocol": "http", "config": {"url": "http://x/"}},
               {"id": "agentron-supervisor-notes", "name": "notes", "protocol": "http", "config": {"url": "http://y/"}}]
    for row in foreign:
        assert http_json(port, "POST", "/api/tools", row)[0] == 201

    dry = t.install("--dry-run")
    assert dry.stdout.count("would POST /api/tools") == len(ALL_TOOLS)
    assert "dry run: 13 change(s)" in dry.stderr
    assert t.stored_rows() == foreign

    first = t.install()
    assert first.stdout.count("POST /api/tools (") == len(ALL_TOOLS), first.stdout
    assert "13 change(s)" in first.stderr
    rows = t.stored_rows()
    ours = [r for r in rows if r["id"] != "agentron-supervisor-notes" and r["id"].startswith(OUR_PREFIX)]
    assert [r["name"] for r in ours] == ALL_TOOLS
    assert [r for r in rows if r not in ours] == foreign
    printed = json.loads(t.tools("print", "--with-token").stdout)
    assert ours == printed  # exactly what `print --with-token` shows
    api = f"http://127.0.0.1:{t.api_port}"
    for row in ours:
        assert row["id"] == OUR_PREFIX + row["name"] and row["protocol"] == "http"
        assert row["config"] == {"url": f"{api}/v1/tools/{row['name']}", "method": "POST",
                                 "headers": {"Authorization": f"Bearer {t.token}",
                                             "Content-Type": "application/json"}}
        assert row["inputSchema"]["type"] == "object" and "$schema" not in row["inputSchema"]
        assert row["description"]

    again = t.install()
    assert again.stdout == "" and "0 change(s)" in again.stderr and "13 tool(s) already" in again.stderr
    assert t.stored_rows() == rows

    # A row we changed by hand is put back (PUT), in place.
    assert http_json(port, "PUT", "/api/tools/agentron-supervisor-job_status",
                     {**ours[-1], "description": "edited"})[0] == 200
    fixed = t.install()
    assert fixed.stdout.strip() == "PUT /api/tools/agentron-supervisor-job_status (job_status)"
    assert t.stored_rows() == rows

    # Offer fewer tools: the ones no longer offered are removed, nothing else.
    config = t.s.config.read_text()
    t.s.config.write_text(config.replace("[control]\n", '[control]\ntools = ["supervisor_status", "job_status"]\n'))
    fewer = t.install()
    assert fewer.stdout.count("DELETE /api/tools/") == len(ALL_TOOLS) - 2, fewer.stdout
    assert "agentron-supervisor-notes" not in fewer.stdout
    assert [r["id"] for r in t.stored_rows()] == [
        "my-own-tool", "agentron-supervisor-notes", OUR_PREFIX + "supervisor_status", OUR_PREFIX + "job_status"]
    t.s.config.write_text(config)

    uninstalled = t.tools("uninstall", "--agentron-url", t.agentron_url())
    assert uninstalled.stdout.count("DELETE /api/tools/") == 2
    assert t.stored_rows() == foreign

    placeholder = t.tools("print")
    assert t.token not in placeholder.stdout + placeholder.stderr
    shown = json.loads(placeholder.stdout)
    assert [r["name"] for r in shown] == ALL_TOOLS
    assert all(r["config"]["headers"]["Authorization"] == "Bearer <the token in [control] token_file>"
               for r in shown)
    assert t.token not in t.s.log()


# -- the seed's flow, through the stored rows -----------------------------------------


def test_the_seed_flow_through_the_stored_rows_ends_in_the_new_release_serving(tools_env):
    t = tools_env()
    t.install()
    agent = t.agent()
    assert sorted(agent.rows) == sorted(ALL_TOOLS)
    old = agent.call("supervisor_status")
    commit = push_an_improvement(t, agent)

    started = agent.call("run_build_agentron", {"wait_seconds": 0})
    assert agent.statuses[-1] == 202 and started["state"] == "running", started
    built = agent.wait_job(started["job_id"])
    assert built["state"] == "succeeded" and built["exit"] == "exit code 0", built
    assert built["result"]["exit_code"] == 0 and "built" in built["result"]["log_tail"]

    launched = agent.call("launch_new_agentron", {"branch": BRANCH, "commit": commit, "summary": "faster search",
                                                 "run_id": "run-7"})
    assert agent.statuses[-1] == 202
    # Answered once the supervisor has taken it: its phase, not a hope.
    assert launched["state"] == "building_release" and "replace" in launched["note"], launched
    assert (launched["branch"], launched["commit"], launched["when"]) == (BRANCH, commit, "now")
    done = agent.wait_request(launched["id"], ("done", "rolled_back", "rejected"))
    assert done["state"] == "done", done
    assert [p["phase"] for p in done["phases"]] == [
        "requested", "building_release", "backing_up", "starting_new", "verifying", "switching", "stopping_old",
        "done"]

    history = agent.call("platform_history")
    row = next(r for r in history["requests"] if r["id"] == launched["id"])
    assert (row["branch"], row["commit"], row["summary"], row["run_id"]) == (BRANCH, commit, "faster search", "run-7")
    assert row["requested_by"] == "agent"
    assert row["counts_before"]["agents"] == 3 and row["counts_after"]["agents"] == 3
    assert row["backup"] and "pre-restart-" in row["backup"]

    now = agent.call("supervisor_status")
    assert now["commit"] == commit and now["pid"] != old["pid"]
    assert now["release"] == str(t.e.tmp / "releases" / commit)
    assert t.s.status()["commit"] == commit
    status, info = http_json(t.app_port, "GET", "/api/fixture/info")
    assert status == 200 and info["pid"] == now["pid"] and info["agents"] == 3
    # The new instance holds the same tool rows: the agent goes on with them.
    assert t.agent().rows == agent.rows
    t.assert_token_only_in_the_tool_rows()


def test_with_require_approval_the_request_waits_until_approved_over_the_api(tools_env):
    t = tools_env(handover={"require_approval": True})
    t.install()
    agent = t.agent()
    commit = push_an_improvement(t, agent)
    # No commit: the head of the branch in the fork (what push_to_fork pushed).
    launched = agent.call("launch_new_agentron", {"branch": BRANCH, "summary": "needs a look"})
    assert launched["state"] == "awaiting_approval" and launched["commit"] == commit, launched
    assert f"/v1/requests/{launched['id']}/approve" in launched["note"]
    waiting = agent.call("restart_status", {"id": launched["id"]})
    assert waiting["state"] == "awaiting_approval" and waiting["phases"][-1]["phase"] == "awaiting_approval"
    assert t.s.status()["commit"] != commit

    # One handover at a time: a second launch is refused at once, naming the first — and
    # before any file is written (a flood leaves nothing behind).
    files_before = sorted(p.name for p in (t.s.state_dir / "requests").rglob("*")) + sorted(
        p.name for p in (t.s.state_dir / "request-archive").rglob("*"))
    for _ in range(3):
        second = agent.refused("launch_new_agentron", {"branch": BRANCH, "commit": commit, "summary": "again"})
        assert second.status == 409 and second.error["code"] == "handover_in_flight", second
        assert launched["id"] in second.error["message"]
    assert sorted(p.name for p in (t.s.state_dir / "requests").rglob("*")) + sorted(
        p.name for p in (t.s.state_dir / "request-archive").rglob("*")) == files_before

    # Approval is the user's: the operator's token, on the API, not a tool. The agent's
    # token (which the agent can read from its own tool rows) is refused, and nothing moves.
    assert t.api("POST", f"/v1/requests/{launched['id']}/approve", token=None)[0] == 401
    for call, body in (("approve", None), ("deny", {"reason": "mine"})):
        status, answer = t.api("POST", f"/v1/requests/{launched['id']}/{call}", body, token="agent")
        assert (status, answer["error"]["code"]) == (403, "operator_only"), answer
        assert "operator_token_file" in answer["error"]["message"]
    assert agent.call("restart_status", {"id": launched["id"]})["state"] == "awaiting_approval"
    t.s.wait_until(lambda: t.s.log().count("carrying the agent token: only the operator's") == 2, 5,
                   "two refusals logged")
    status, answer = t.api("POST", f"/v1/requests/{launched['id']}/approve")
    assert status == 200, answer
    assert agent.wait_request(launched["id"], ("done", "rolled_back", "rejected"))["state"] == "done"
    assert agent.call("supervisor_status")["commit"] == commit
    t.assert_token_only_in_the_tool_rows()


def test_launch_without_commit_needs_the_branch_pushed(tools_env):
    t = tools_env()
    t.install()
    agent = t.agent()
    failed = agent.refused("launch_new_agentron", {"branch": "agent-improvement/never-pushed", "summary": "s"})
    assert failed.status == 422 and failed.error["code"] == "not_on_fork", failed
    assert "agent-improvement/never-pushed" in failed.error["message"]
    assert os.listdir(t.s.state_dir / "requests") == []
    t.assert_token_only_in_the_tool_rows()


def test_when_idle_the_launch_waits_for_the_running_execution(tools_env):
    t = tools_env()
    t.install()
    agent = t.agent()
    commit = push_an_improvement(t, agent)
    db = sqlite3.connect(t.e.data_dir / "agentron.sqlite", timeout=10)
    try:
        db.execute("INSERT INTO executions (name, status) VALUES ('the run that called the tool', 'running')")
        db.commit()
        old = agent.call("supervisor_status")
        launched = agent.call("launch_new_agentron", {"branch": BRANCH, "commit": commit, "summary": "when idle",
                                                     "when": "idle"})
        waiting = agent.wait_request(launched["id"], ("waiting_for_idle",))
        assert waiting["phases"][-1]["phase"] == "waiting_for_idle"
        assert agent.call("supervisor_status")["pid"] == old["pid"]  # the old instance serves on
        db.execute("UPDATE executions SET status = 'completed'")
        db.commit()
        finished = time.monotonic()
        t.s.wait_log(rf"request {launched['id']}: backing_up", timeout=10)
        assert time.monotonic() - finished < 1.0
    finally:
        db.close()
    done = agent.wait_request(launched["id"], ("done", "rolled_back", "rejected"))
    assert done["state"] == "done", done
    assert [p["phase"] for p in done["phases"]][:4] == ["requested", "building_release", "waiting_for_idle",
                                                        "backing_up"]
    assert agent.call("supervisor_status")["commit"] == commit
    t.assert_token_only_in_the_tool_rows()


# -- refusals ---------------------------------------------------------------------


BAD_INPUTS = [  # (tool, input, the field the 400 must name)
    ("create_branch", {"name": "x", "force": True}, "force"),
    ("push_to_fork", {"remote": "upstream"}, "remote"),
    ("create_branch", {"name": "-x"}, "name"),
    ("create_branch", {"name": "--upload-pack=touch /tmp/x"}, "name"),
    ("create_branch", {"name": "a..b"}, "name"),
    ("clone_or_pull_agentron", {"branch": "--upload-pack=x"}, "branch"),
    ("sync_fork_from_upstream", {"upstream_branch": "-x"}, "upstream_branch"),
    ("launch_new_agentron", {"branch": "a..b", "commit": "abcdef0", "summary": "s"}, "branch"),
    ("launch_new_agentron", {"branch": "b", "commit": "--all", "summary": "s"}, "commit"),
    ("launch_new_agentron", {"branch": "b"}, "summary"),
    ("commit_changes", {"message": "m", "paths": ["../outside"]}, "paths[0]"),
    ("commit_changes", {"message": "m", "paths": ["ok.txt", "docs/../../x"]}, "paths[1]"),
    ("commit_changes", {"message": "m", "paths": [".."]}, "paths[0]"),
    ("commit_changes", {"message": "m", "paths": ["--", "-x"]}, "paths[0]"),
    ("commit_changes", {"message": "m", "paths": ["/etc/passwd"]}, "paths[0]"),
    ("run_build_agentron", {"wait_seconds": 241}, "wait_seconds"),
    ("job_status", {"job_id": 7}, "job_id"),
]


def test_a_bad_input_is_400_naming_the_field_and_runs_nothing(tools_env):
    t = tools_env(fork={"docs_required": True})
    t.install()
    agent = t.agent()
    lines = len(t.s.lines)
    for tool, tool_input, field in BAD_INPUTS:
        failed = agent.refused(tool, tool_input)
        assert failed.status == 400, (tool, tool_input, failed)
        assert failed.error["code"] == "bad_request", (tool, tool_input, failed)
        message = failed.error["message"]
        assert message.startswith(f"{tool}: {field}:") or message == f'{tool}: input: unknown field "{field}"' \
            or message.startswith(f'{tool}: input: unknown field "{field}";'), (tool, tool_input, message)
    assert t.jobs() == []
    assert not any("started as job" in line or "restart request" in line for line in t.s.lines[lines:])
    assert os.listdir(t.s.state_dir / "requests") == []

    # [fork] docs_required holds over the API as in the CLI: code without docs is refused (422).
    agent.call("clone_or_pull_agentron")
    (t.e.workspace / "search.sh").write_text("echo fast\n")
    failed = agent.refused("commit_changes", {"message": "no docs"})
    assert failed.status == 422 and failed.error["code"] == "docs_required", failed
    t.assert_token_only_in_the_tool_rows()


def test_one_job_at_a_time_and_a_push_to_the_upstream_is_refused(tools_env, tmp_path):
    marker = tmp_path / "build-may-end"
    build = ["sh", "-c", f'echo waiting; n=0; while [ ! -e "{marker}" ] && [ $n -lt 600 ]; do sleep 0.05; '
                         f'n=$((n+1)); done; echo built']
    t = tools_env(fork={"build": build})
    t.install()
    agent = t.agent()
    push_an_improvement(t, agent)

    running = agent.call("run_build_agentron", {"wait_seconds": 0})
    assert running["state"] == "running"
    for tool in ("run_build_agentron", "run_tests_agentron", "commit_changes", "push_to_fork"):
        failed = agent.refused(tool, {"message": "m"} if tool == "commit_changes" else {})
        assert failed.status == 409, failed
        assert failed.error["code"] == "job_running" and running["job_id"] in failed.error["message"]
    assert agent.call("job_status", {"job_id": running["job_id"]})["state"] == "running"
    # Seen by the user too, on GET /v1/jobs/<id>.
    status, job = t.api("GET", f"/v1/jobs/{running['job_id']}")
    assert status == 200 and job["state"] == "running"
    marker.write_text("")
    done = agent.wait_job(running["job_id"])
    assert done["state"] == "succeeded" and "built" in done["log_tail"]
    assert len(t.jobs()) == 6  # ensure, clone, branch, commit, push, the build: none for the refused calls

    # The agent rewrites its workspace's remote so a push would go to the upstream.
    before = upstream_state(t.e.upstream)
    git("config", "remote.origin.pushurl", f"file://{t.e.upstream}", cwd=t.e.workspace)
    (t.e.workspace / "more.txt").write_text("more\n")
    # The docs rule holds as in the CLI: code without docs is committed with a warning the agent sees.
    more = agent.call("commit_changes", {"message": "more", "paths": ["more.txt"]})
    assert more["state"] == "succeeded" and "no documentation" in more["warnings"][0], more
    failed = agent.refused("push_to_fork", {})
    assert failed.status == 422, failed
    assert failed.error["code"] == "push_refused"
    assert json.loads(failed.text)["job"]["state"] == "failed"
    assert upstream_state(t.e.upstream) == before
    assert refs(t.e.upstream) == before[0]
    t.assert_token_only_in_the_tool_rows()


def test_a_job_running_when_the_supervisor_stops_is_reported_interrupted(tools_env, tmp_path):
    pid_file = tmp_path / "build.pid"
    marker = tmp_path / "never"
    build = ["sh", "-c", f'echo $$ > "{pid_file}"; n=0; while [ ! -e "{marker}" ] && [ $n -lt 600 ]; do '
                         f'sleep 0.05; n=$((n+1)); done']
    t = tools_env(fork={"build": build})
    t.install()
    agent = t.agent()
    agent.call("clone_or_pull_agentron")
    running = agent.call("run_build_agentron", {"wait_seconds": 0})
    build_pid = int(poll_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "the build started"))

    t.s.signal(signal.SIGTERM)
    assert t.s.wait_exit() == 0
    assert wait_pid_gone(build_pid, 10), "the build outlived the supervisor's stop"
    t.s.lines.clear()
    t.s.start()
    t.s.wait_log(r"instance \S+ verified")
    # With [control] listen port 0 the API has a new port: install again puts the rows right (PUT).
    t.api_port = int(t.s.status()["control_api"]["listen"].rsplit(":", 1)[1])
    assert t.install().stdout.count("PUT /api/tools/") == len(ALL_TOOLS)
    agent = t.agent()
    job = agent.call("job_status", {"job_id": running["job_id"]})
    assert job["state"] == "interrupted" and job["result"]["code"] == "interrupted", job
    assert job["result"]["message"].startswith("the supervisor stopped while it ran"), job
    # The workspace is free again.
    marker.write_text("")
    assert agent.call("run_tests_agentron")["state"] == "succeeded"
    t.assert_token_only_in_the_tool_rows()


def test_the_users_routes_answer_with_their_status_codes(tools_env):
    """The rest of /v1 (docs/agent-tools.md, HTTP API): what the user's scripts call."""
    t = tools_env()
    t.install()
    status, tools = t.api("GET", "/v1/tools")
    assert status == 200 and [tool["name"] for tool in tools["tools"]] == ALL_TOOLS
    assert all(tool["inputSchema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
               for tool in tools["tools"])

    status, answer = t.api("POST", "/v1/backups", token="agent")
    assert (status, answer["error"]["code"]) == (403, "operator_only"), answer
    status, answer = t.api("POST", "/v1/rollback", {"reason": "try"}, token="agent")
    assert (status, answer["error"]["code"]) == (403, "operator_only"), answer
    status, made = t.api("POST", "/v1/backups")
    assert status == 201 and made["kind"] == "manual" and made["trust"] == "authenticated", made
    status, listed = t.api("GET", "/v1/backups")
    assert status == 200 and [b["name"] for b in listed["backups"]] == [made["name"]]
    assert t.api("POST", "/v1/backups", {"dir": "/tmp"})[0] == 400

    status, history = t.api("GET", "/v1/history?limit=5&kind=verified")
    assert status == 200 and [e["kind"] for e in history["events"]] == ["verified"]
    assert t.api("GET", "/v1/history?limit=0")[0] == 400
    assert t.api("GET", "/v1/requests") == (200, {"requests": []})
    assert t.api("GET", "/v1/requests/nope")[1]["error"]["code"] == "no_such_request"
    assert t.api("GET", "/v1/requests/nope")[0] == 404
    assert t.api("GET", "/v1/jobs/job-nope")[0] == 404
    assert t.api("POST", "/v1/requests/nope/approve")[0] == 404
    assert t.api("POST", "/v1/requests/nope/deny", {"reason": "no"})[0] == 404
    status, answer = t.api("POST", "/v1/rollback", {"reason": "try"})
    assert (status, answer["error"]["code"]) == (409, "no_previous_release")
    status, answer = t.api("POST", "/v1/requests", {"branch": BRANCH})
    assert (status, answer["error"]["message"]) == (400, 'field "summary" is required')
    status, answer = t.api("POST", "/v1/requests", {"branch": BRANCH, "summary": "s"})
    assert (status, answer["error"]["code"]) == (422, "not_on_fork")
    status, answer = t.api("POST", "/v1/requests", {"branch": BRANCH, "summary": "s" * 2001})
    assert status == 400 and "summary" in answer["error"]["message"]  # launch_new_agentron's limits

    # With the agent's token a request is the agent's, whatever it claims; and what it
    # wrote cannot drive the operator's terminal (`history` shows control bytes as \xNN).
    status, answer = t.api("POST", "/v1/requests", {"branch": BRANCH, "commit": "ab" * 20,
                                                    "summary": "typo\r\x1b[2K\x1b[8m", "requested_by": "operator (root)",
                                                    "run_id": "r\x1b]0;owned\x07"}, token="agent")
    assert answer.get("error", {}).get("code") in ("not_on_fork", None), answer
    row = t.s.wait_until(lambda: next((r for r in t.e.history()["requests"] if r["summary"].startswith("typo")), None),
                         10, "the request in the ledger")
    assert row["requested_by"] == "agent (operator (root))"
    shown = t.s.cli("history", "--state-dir", str(t.s.state_dir)).stdout
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
    assert "typo\\x0d\\x1b[2K\\x1b[8m" in shown, [line for line in shown.splitlines() if "typo" in line]
    assert t.api("GET", "/v1/status", token=None)[0] == 401
    for token in ("operator", "agent"):
        status, answer = t.api("GET", "/v1/status", token=token)
        assert status == 200 and answer["state"] == "ready"
    t.assert_token_only_in_the_tool_rows()
