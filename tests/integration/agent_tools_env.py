"""The agent's side of the control API, for the tests (issue 13): `call_tool` does
what Agentron's HTTP tool adapter does with a stored row, `Agent` knows only the rows
Agentron stores, and `ToolsEnv` is a HandoverEnv with [control], started and verified,
the workspace not cloned yet (the agent's first tool call clones it)."""
import http.client
import json
import os
import re
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

import pytest

from handover_env import git
from harness import poll_until

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
        shutil.rmtree(e.workspace, ignore_errors=True)
        self.s.start()
        self.s.wait_log(r"instance \S+ verified: agents 3")
        self.token_file = self.s.state_dir / "api.token"
        self.token = self.token_file.read_text().strip()
        self.operator_token = (self.s.state_dir / "operator.token").read_text().strip()
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

    def api(self, method, path, body=None, token="operator"):
        """The user's own call to /v1 (not through a tool row), with the operator's token,
        the agent's ("agent") or none (None)."""
        tokens = {"operator": self.operator_token, "agent": self.token, None: None}
        answer = http_json(self.api_port, method, path, body,
                           headers={"Authorization": f"Bearer {tokens[token]}"} if token else {})
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
        while self.s._read_available(0.05):  # every line logged so far, not only those a wait read
            pass
        assert token not in self.s.log()
        # The operator's token is in its file alone: not even in Agentron's rows.
        operator_file = self.s.state_dir / "operator.token"
        for dirpath, _, filenames in os.walk(self.e.tmp):
            for name in filenames:
                path = Path(dirpath) / name
                if path != operator_file and not path.is_symlink() and path.is_file():
                    assert self.operator_token.encode() not in path.read_bytes(), f"the operator's token is in {path}"
        assert self.operator_token not in self.s.log()
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


def edit_as_the_agent(workspace, text="faster search"):
    """What the agent does between create_branch and commit_changes: a code change with its docs."""
    (workspace / "search.sh").write_text(f"# {text}\necho fast\n")
    (workspace / "docs").mkdir(exist_ok=True)
    (workspace / "docs" / "search.md").write_text(f"# Search\n\n{text}.\n")


def push_an_improvement(t, agent, edit=edit_as_the_agent):
    """ensure fork → clone → branch → edit → commit → push: the pushed commit. `edit`
    changes the workspace as the agent would (given its path)."""
    fork = agent.call("ensure_agentron_fork")
    assert fork["state"] == "succeeded" and fork["result"]["fork_url"] == f"file://{t.e.fork}"
    cloned = agent.call("clone_or_pull_agentron")
    assert cloned["state"] == "succeeded" and cloned["result"]["action"] == "cloned", cloned
    branch = agent.call("create_branch", {"name": "faster"})
    assert branch["result"]["branch"] == BRANCH
    edit(t.e.workspace)
    committed = agent.call("commit_changes", {"message": "Faster search\n\nWith its docs."})
    assert committed["state"] == "succeeded" and "warnings" not in committed, committed
    commit = committed["result"]["commit"]
    assert sorted(committed["result"]["paths"]) == ["docs/search.md", "search.sh"], committed
    pushed = agent.call("push_to_fork")
    assert pushed["result"]["commit"] == commit and pushed["result"]["branch"] == BRANCH
    # The fork may be the app's user's: git, as root, would refuse to read it unasked.
    assert git("-c", "safe.directory=*", "rev-parse", BRANCH, cwd=t.e.fork) == commit
    return commit
