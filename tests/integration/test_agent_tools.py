"""The agent's tools end to end (issue 13, docs/agent-tools.md): `agentron-tools install`
writes our rows into the fixture app's /api/tools (Agentron's own tool table), and
everything after that goes through `call_tool` — what Agentron's HTTP tool adapter does
with a stored row — against the real supervisor ([control], [fork] on local bare
repositories, [health] probe verification) and the real agentron-fork: the seed's
flow from fork to a verified restart into the agent's commit, with approval, with
`when: "idle"`, and the refusals. Afterwards the token is looked for everywhere: it
must be only in the token file and in Agentron's own tool rows."""
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import time
import urllib.parse
from pathlib import Path

import pytest

from fork_env import refs, upstream_state
from handover_env import git
from harness import poll_until, wait_pid_gone

OUR_PREFIX = "agentron-supervisor-"
ALL_TOOLS = ["ensure_agentron_fork", "clone_or_pull_agentron", "create_branch", "commit_changes", "push_to_fork",
             "run_build_agentron", "run_tests_agentron", "sync_fork_from_upstream", "launch_new_agentron",
             "platform_history", "restart_status", "supervisor_status", "job_status"]
BRANCH = "agent-improvement/faster"

# What Node's fetch (undici) sends besides what the caller gives: no Origin, no cookies.
NODE_FETCH_HEADERS = {"accept": "*/*", "accept-language": "*", "sec-fetch-mode": "cors", "user-agent": "node",
                      "accept-encoding": "gzip, deflate"}

# Every answer any tool call got, for the token search at the end of each flow.
ANSWERS = []


class ToolFailed(Exception):
    """The adapter's `throw new Error(`HTTP tool failed (${status}): ${text}`)`."""

    def __init__(self, status, text):
        super().__init__(f"HTTP tool failed ({status}): {text}")
        self.status = status
        self.text = text

    @property
    def error(self):
        return json.loads(self.text)["error"]


def js_string(value):
    """String(value) for the JSON values a tool input holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "[object Object]" if isinstance(value, dict) else ",".join(js_string(v) for v in value)
    return str(value)


def call_tool(row, tool_input, timeout=300, status_out=None):
    """Does what Agentron's HTTP tool adapter (packages/runtime/src/tools/adapters/
    http-tool.ts) does with a stored tool row: method = config.method or POST,
    uppercased; `{name}` placeholders in config.url filled from the input and those keys
    left out of the body; for POST/PUT/PATCH the rest of the input JSON.stringify'd as
    the body, Content-Type application/json unless the row's headers set it (else the
    rest as a query string); fetch(url, {method, headers, body}); a non-2xx answer
    raises with the status and the text; a JSON answer is parsed. `status_out` (a list)
    gets the HTTP status, which the agent never sees."""
    config = row["config"]
    if not config.get("url"):
        raise ValueError("HTTP tool requires a url in config.")
    method = (config.get("method") or "POST").upper()
    raw = tool_input if isinstance(tool_input, dict) else {}
    names = re.findall(r"\{([^}]+)\}", config["url"])
    path_params = {k: v for k, v in raw.items() if k in names}
    rest = {k: v for k, v in raw.items() if k not in names}
    url = config["url"]
    for key, value in path_params.items():
        if value is not None:
            url = url.replace("{" + key + "}", js_string(value))
    sends_body = method in ("POST", "PUT", "PATCH")
    body = None
    if sends_body:
        body = json.dumps(rest, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        pairs = [(k, js_string(x)) for k, v in rest.items() if v is not None for x in (v if isinstance(v, list) else [v])]
        if pairs:
            query = urllib.parse.urlencode(pairs)
            url += ("&" if "?" in url else "?") + query
    headers = dict(config.get("headers") or {})
    if sends_body and "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    # fetch: the Host from the URL, then its own defaults unless the caller set them.
    given = {k.lower() for k in headers}
    sent = {**{k: v for k, v in NODE_FETCH_HEADERS.items() if k not in given}, **headers}
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "http", url
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode()
        content_type = response.getheader("content-type")
    finally:
        conn.close()
    ANSWERS.append(text)
    if status_out is not None:
        status_out.append(response.status)
    if not 200 <= response.status <= 299:
        raise ToolFailed(response.status, text)
    if content_type and "application/json" in content_type and text:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def http_json(port, method, path, body=None, headers=None, timeout=10):
    """A plain request (the user's, or Agentron's /api/tools): (status, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        text = response.read().decode()
        return response.status, json.loads(text) if text else None
    finally:
        conn.close()


class Agent:
    """Agentron's agent: it knows only the tool rows Agentron stores."""

    def __init__(self, rows):
        self.rows = rows
        self.statuses = []

    def call(self, tool, tool_input=None, timeout=300):
        return call_tool(self.rows[tool], tool_input or {}, timeout=timeout, status_out=self.statuses)

    def refused(self, tool, tool_input):
        with pytest.raises(ToolFailed) as failed:
            self.call(tool, tool_input)
        return failed.value

    def wait_job(self, job_id, timeout=60):
        def ended():
            job = self.call("job_status", {"job_id": job_id})
            return job if job["state"] != "running" else None
        return poll_until(ended, timeout, f"job {job_id} ended", interval=0.05)

    def wait_request(self, request_id, states, timeout=60):
        def reached():
            row = self.call("restart_status", {"id": request_id})
            return row if row["state"] in states else None
        return poll_until(reached, timeout, f"request {request_id} in {states}", interval=0.05)


class ToolsEnv:
    """A HandoverEnv with [control] on a free port, its workspace not cloned yet (the
    agent's first tool call clones it), the supervisor started and verified."""

    def __init__(self, e):
        self.e = e
        self.s = e.supervisor
        shutil.rmtree(e.workspace)
        self.s.start()
        self.s.wait_log(r"instance \S+ verified: agents 3")
        self.token_file = self.s.state_dir / "api.token"
        self.token = self.token_file.read_text().strip()
        self.api_port = int(self.s.status()["control_api"]["listen"].rsplit(":", 1)[1])

    @property
    def app_port(self):
        """Where Agentron (the fixture) serves now: [app] port, or the alternate one after a handover."""
        return self.s.status()["port"]

    def agentron_url(self):
        return f"http://127.0.0.1:{self.app_port}"

    def tools(self, verb, *args, ok=True):
        r = self.s.cli("agentron-tools", verb, "--config", str(self.s.config), *args, timeout=30)
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        return r

    def install(self, *args):
        return self.tools("install", "--agentron-url", self.agentron_url(), *args)

    def stored_rows(self):
        status, rows = http_json(self.app_port, "GET", "/api/tools")
        assert status == 200
        return rows

    def agent(self):
        return Agent({r["name"]: r for r in self.stored_rows() if r["id"] == OUR_PREFIX + r["name"]})

    def api(self, method, path, body=None, token=True):
        """The user's own call to /v1 (not through a tool row)."""
        answer = http_json(self.api_port, method, path, body,
                           headers={"Authorization": f"Bearer {self.token}"} if token else {})
        ANSWERS.append(json.dumps(answer[1]))
        return answer

    def jobs(self):
        jobs = self.s.state_dir / "jobs"
        return sorted(os.listdir(jobs)) if jobs.exists() else []

    def assert_token_only_in_the_tool_rows(self):
        """The token is in the token file and in Agentron's own tool rows (its database
        and the snapshots of it), nowhere else: not in the supervisor's log, a file
        under the test's folder (state dir, job records, ledger, logs, workspace,
        releases), another row of Agentron's database, `history --json`, or an answer."""
        token = self.token
        assert token not in self.s.log()
        assert token not in json.dumps(self.e.history())
        for text in ANSWERS:
            assert token not in text
        databases = []
        for dirpath, _, filenames in os.walk(self.e.tmp):
            for name in filenames:
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file() or token.encode() not in path.read_bytes():
                    continue
                if path == self.token_file:
                    continue
                # Agentron's own database (and its snapshots, and the journal of a write in flight).
                assert name.startswith("agentron.sqlite"), f"the token is in {path}"
                if name == "agentron.sqlite":
                    databases.append(path)
        assert databases, "the installed rows hold the token"
        for path in databases:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                    for row in db.execute(f'SELECT * FROM "{table}"'):
                        text = json.dumps(row)
                        if table == "api_tools" and row[0].startswith(OUR_PREFIX):
                            stored = json.loads(row[1])
                            if stored["protocol"] == "mcp":  # the capability endpoint .../mcp/<token>
                                assert stored["config"]["endpoint"].endswith(f"/mcp/{token}")
                                del stored["config"]["endpoint"]
                            else:
                                assert stored["config"]["headers"]["Authorization"] == f"Bearer {token}"
                                del stored["config"]["headers"]["Authorization"]
                            text = json.dumps(stored)
                        assert token not in text, f"the token is in {path}, table {table}: {text[:200]}"
            finally:
                db.close()


@pytest.fixture
def tools_env(handover_envs):
    def make(handover=None, fork=None, control=None):
        e = handover_envs(handover=handover, fork=fork,
                          control={"listen": "127.0.0.1:0", "header_timeout": "5s", **(control or {})})
        return ToolsEnv(e)
    return make


def edit_as_the_agent(workspace, text="faster search"):
    """What the agent does between create_branch and commit_changes: a code change with its docs."""
    (workspace / "search.sh").write_text(f"# {text}\necho fast\n")
    (workspace / "docs").mkdir(exist_ok=True)
    (workspace / "docs" / "search.md").write_text(f"# Search\n\n{text}.\n")


def push_an_improvement(t, agent):
    """ensure fork → clone → branch → edit → commit → push: the pushed commit."""
    fork = agent.call("ensure_agentron_fork")
    assert fork["state"] == "succeeded" and fork["result"]["fork_url"] == f"file://{t.e.fork}"
    cloned = agent.call("clone_or_pull_agentron")
    assert cloned["state"] == "succeeded" and cloned["result"]["action"] == "cloned", cloned
    branch = agent.call("create_branch", {"name": "faster"})
    assert branch["result"]["branch"] == BRANCH
    edit_as_the_agent(t.e.workspace)
    committed = agent.call("commit_changes", {"message": "Faster search\n\nWith its docs."})
    assert committed["state"] == "succeeded" and "warnings" not in committed, committed
    commit = committed["result"]["commit"]
    assert sorted(committed["result"]["paths"]) == ["docs/search.md", "search.sh"], committed
    pushed = agent.call("push_to_fork")
    assert pushed["result"]["commit"] == commit and pushed["result"]["branch"] == BRANCH
    assert git("rev-parse", BRANCH, cwd=t.e.fork) == commit
    return commit


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

    # One handover at a time: a second launch is refused at once, naming the first.
    second = agent.refused("launch_new_agentron", {"branch": BRANCH, "commit": commit, "summary": "again"})
    assert second.status == 409 and second.error["code"] == "handover_in_flight", second
    assert launched["id"] in second.error["message"]

    # Approval is the user's: the same token, on the API, not a tool.
    assert t.api("POST", f"/v1/requests/{launched['id']}/approve", token=False)[0] == 401
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
    assert t.api("GET", "/v1/status", token=False)[0] == 401
    status, answer = t.api("GET", "/v1/status")
    assert status == 200 and answer["state"] == "ready"
    t.assert_token_only_in_the_tool_rows()
