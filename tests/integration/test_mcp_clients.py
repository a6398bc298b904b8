"""The official MCP clients against the real supervisor (issue 14): the TypeScript SDK
Agentron pins (@modelcontextprotocol/sdk 1.26.0) and the newest 1.x drive the seed's
flow — fork, clone, branch, commit, push, the build with progress notifications, the
launch, a verified handover, platform_history showing it — through the capability URL
and through the Authorization header; the v2 client negotiates the stateless 2026-07-28
revision; and `agentron-tools install --mcp` writes rows that Agentron's own MCP adapter
(as upstream bc97d36 has it) calls. The environment is test_agent_tools.py's: the fixture
app, local bare repositories, the real agentron-fork.

Needs tests/mcp/node_modules (scripts/mcp-test-deps.sh, run by scripts/install-deps.sh).
Under AddressSanitizer these run too: each flow is a few seconds."""
import json
import subprocess
from pathlib import Path

from agent_tools_env import ALL_TOOLS, ANSWERS, BRANCH, OUR_PREFIX, http_json

MCP_DIR = Path(__file__).resolve().parents[1] / "mcp"
NODE = MCP_DIR / "node_modules" / ".bin" / "node"


def node(script, argument, timeout=240):
    """Runs a script of tests/mcp with Node 22 from tests/mcp/node_modules: its JSON output."""
    assert NODE.exists(), "tests/mcp/node_modules is missing: run scripts/mcp-test-deps.sh"
    r = subprocess.run([str(NODE), str(MCP_DIR / script), json.dumps(argument)], capture_output=True, text=True,
                       timeout=timeout, cwd=MCP_DIR)
    ANSWERS.append(r.stdout + r.stderr)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def env_with_a_slow_build(tools_env, tmp_path):
    """The build prints "compiling" and waits for a marker file the client writes when a
    progress notification has shown that line — so progress demonstrably arrives while
    the job runs. (The release build, later, finds the marker there.)"""
    marker = tmp_path / "progress-seen"
    build = ["sh", "-c", f'echo compiling; n=0; while [ ! -e "{marker}" ] && [ $n -lt 1200 ]; do sleep 0.05; '
                         f'n=$((n+1)); done; echo linking; sh build.sh']
    t = tools_env(fork={"build": build})
    t.install("--mcp")  # where the token may be: Agentron's rows (assert_token_only_in_the_tool_rows)
    return t, marker


def check_the_seed_flow(t, summary, sdk):
    assert summary["server"]["name"] == "agentron-supervisor"
    assert "launch_new_agentron" in summary["instructions"]
    assert summary["protocolVersion"] == "2025-11-25"
    assert summary["sessionId"] and summary["terminated"] is True
    tools = {tool["name"]: tool for tool in summary["tools"]}
    assert list(tools) == ALL_TOOLS
    assert tools["push_to_fork"]["annotations"]["readOnlyHint"] is False
    assert tools["platform_history"]["annotations"]["readOnlyHint"] is True
    assert tools["launch_new_agentron"]["annotations"]["destructiveHint"] is True
    assert tools["create_branch"]["title"] and "never" in tools["push_to_fork"]["description"]
    assert not any(call["isError"] for call in summary["calls"])

    assert summary["fork_url"] == f"file://{t.e.fork}"
    assert summary["cloned"] == "cloned" and summary["branch"] == BRANCH
    assert summary["pushed"]["commit"] == summary["commit"]
    build = summary["build"]
    assert build["state"] == "succeeded" and "linking" in build["log_tail"]
    messages = [p.get("message", "") for p in build["progress"]]
    assert messages[0].startswith("run_build_agentron started as job job-"), messages
    assert any("compiling" in m for m in messages) and any("linking" in m for m in messages), messages
    assert [p["progress"] for p in build["progress"]] == sorted({p["progress"] for p in build["progress"]})

    launched = summary["launched"]
    assert launched["state"] == "building_release" and launched["commit"] == summary["commit"]
    outcome = summary["outcome"]
    assert outcome["state"] == "done", outcome
    assert [p["phase"] for p in outcome["phases"]] == [
        "requested", "building_release", "backing_up", "starting_new", "verifying", "switching", "stopping_old",
        "done"]
    row = next(r for r in summary["history"]["requests"] if r["id"] == launched["id"])
    assert (row["commit"], row["state"], row["run_id"]) == (summary["commit"], "done", f"run-{sdk}")
    assert row["counts_before"]["agents"] == 3 and row["counts_after"]["agents"] == 3
    assert summary["status"]["commit"] == summary["commit"]
    assert t.s.status()["commit"] == summary["commit"]
    status, info = http_json(t.app_port, "GET", "/api/fixture/info")
    assert status == 200 and info["pid"] == summary["status"]["pid"]


def test_the_pinned_sdk_runs_the_seed_flow_through_the_capability_url(tools_env, tmp_path):
    t, marker = env_with_a_slow_build(tools_env, tmp_path)
    summary = node("seed_flow.mjs", {"sdk": "pinned", "url": f"http://127.0.0.1:{t.api_port}/mcp/{t.token}",
                                     "workspace": str(t.e.workspace), "marker": str(marker), "flow": "seed"})
    check_the_seed_flow(t, summary, "pinned")
    t.s.wait_log(r"DELETE /mcp/… 200")
    t.assert_token_only_in_the_tool_rows()


def test_the_newest_sdk_runs_the_seed_flow_with_the_authorization_header(tools_env, tmp_path):
    t, marker = env_with_a_slow_build(tools_env, tmp_path)
    summary = node("seed_flow.mjs", {"sdk": "newest", "url": f"http://127.0.0.1:{t.api_port}/mcp", "token": t.token,
                                     "workspace": str(t.e.workspace), "marker": str(marker), "flow": "seed"})
    check_the_seed_flow(t, summary, "newest")
    t.assert_token_only_in_the_tool_rows()


def test_the_v2_client_negotiates_the_stateless_revision(tools_env, tmp_path):
    t, marker = env_with_a_slow_build(tools_env, tmp_path)
    summary = node("seed_flow.mjs", {"sdk": "v2", "url": f"http://127.0.0.1:{t.api_port}/mcp", "token": t.token,
                                     "workspace": str(t.e.workspace), "marker": str(marker), "flow": "quick"})
    assert summary["protocolVersion"] == "2026-07-28"
    assert summary["sessionId"] is None and "terminated" not in summary
    assert [tool["name"] for tool in summary["tools"]] == ALL_TOOLS
    assert summary["status"]["state"] == "ready"
    # A schema violation is a tool error the model reads (2025-11-25 on); an unknown tool a protocol error.
    bad = summary["bad_input"]
    assert bad["isError"] is True and bad["content"][0]["text"].startswith("create_branch: name: ")
    assert summary["unknown_tool"]["protocolError"]["code"] == -32602
    assert summary["build"]["state"] == "succeeded"
    assert any("compiling" in p.get("message", "") for p in summary["build"]["progress"])
    assert t.jobs() and len(t.jobs()) == 2  # the clone and the build: nothing for the refused calls
    t.assert_token_only_in_the_tool_rows()


def test_mcp_rows_in_agentron_reach_the_tools_as_its_adapter_calls_them(tools_env):
    t = tools_env()
    installed = t.install("--mcp")
    assert installed.stdout.count("POST /api/tools (") == len(ALL_TOOLS), installed.stdout
    rows = {r["name"]: r for r in t.stored_rows() if r["id"] == OUR_PREFIX + r["name"]}
    assert list(rows) == ALL_TOOLS
    endpoint = f"http://127.0.0.1:{t.api_port}/mcp/{t.token}"
    for name, row in rows.items():
        assert row["protocol"] == "mcp" and row["config"] == {"endpoint": endpoint, "toolName": name}
        assert row["inputSchema"]["type"] == "object" and row["description"]
    # Back to http rows is a PUT of each, in place.
    assert t.install().stdout.count("PUT /api/tools/") == len(ALL_TOOLS)
    assert t.install("--mcp").stdout.count("PUT /api/tools/") == len(ALL_TOOLS)
    assert json.loads(t.tools("print", "--mcp").stdout)[0]["config"]["endpoint"] == \
        f"http://127.0.0.1:{t.api_port}/mcp/<the token in [control] token_file>"

    results = node("agentron_rows.mjs", [{"row": rows["supervisor_status"]},
                                         {"row": rows["platform_history"], "input": {"limit": 1}},
                                         {"row": rows["restart_status"], "input": {"id": "nope"}}])
    assert results[0]["structuredContent"]["state"] == "ready" and "isError" not in results[0]
    assert results[1]["structuredContent"] == {"requests": []}
    assert results[2]["isError"] is True and "no restart request 'nope'" in results[2]["content"][0]["text"]
    t.s.wait_log(r"POST /mcp/… 200")
    t.assert_token_only_in_the_tool_rows()


def test_mcp_config_prints_each_clients_snippet(tools_env):
    t = tools_env()
    url = f"http://127.0.0.1:{t.api_port}/mcp"
    placeholder = "<the token in [control] token_file>"
    for client in ("claude", "cursor"):
        r = t.s.cli("mcp-config", "--config", str(t.s.config), "--client", client)
        assert r.returncode == 0, r.stderr
        server = json.loads(r.stdout)["mcpServers"]["agentron-supervisor"]
        assert server["url"] == url and server["headers"] == {"Authorization": f"Bearer {placeholder}"}
        assert server.get("type") == ("http" if client == "claude" else None)
        assert "--with-token" in r.stderr and t.token not in r.stdout + r.stderr
    with_token = t.s.cli("mcp-config", "--config", str(t.s.config), "--client", "cursor", "--with-token")
    assert json.loads(with_token.stdout)["mcpServers"]["agentron-supervisor"]["headers"]["Authorization"] == \
        f"Bearer {t.token}"
    generic = t.s.cli("mcp-config", "--config", str(t.s.config))
    assert f"url:     {url}\n" in generic.stdout and f"{url}/{placeholder}" in generic.stdout
    agentron = t.s.cli("mcp-config", "--config", str(t.s.config), "--client", "agentron")
    assert [r["config"]["toolName"] for r in json.loads(agentron.stdout)] == ALL_TOOLS
    assert "agentron-tools install --mcp" in agentron.stderr
    bad = t.s.cli("mcp-config", "--config", str(t.s.config), "--client", "emacs")
    assert bad.returncode != 0
