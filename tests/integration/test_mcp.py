"""The MCP endpoint on the wire (issue 14, docs/agent-tools.md "MCP"), spoken by hand
against the real supervisor with [control] and [fork] on local bare repositories: the
handshake, sessions, a tools/call answered as JSON and as Server-Sent Events with
progress, the end of a session — and every refusal the issue lists (no or wrong token,
bad Origin, bad Host, an unsupported protocol version, an unknown session, malformed
JSON, a batch, a 10 MB body), each with its status and error and nothing run.
Afterwards the token is in no log line, and the capability path shows as /mcp/…."""
import http.client
import json
import os
import signal
import socket

from agent_tools_env import ANSWERS

ACCEPT = "application/json, text/event-stream"


def mcp(port, body, headers=None, path="/mcp", token=None, method="POST", raw=None):
    """One request to the endpoint on a new connection: (status, headers, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Accept": ACCEPT, "Content-Type": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        text = response.read().decode()
        ANSWERS.append(text)
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


def rpc(id_, method, params=None):
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


def initialize(port, token, version="2025-11-25", path="/mcp"):
    status, headers, text = mcp(port, rpc(1, "initialize", {"protocolVersion": version, "capabilities": {},
                                                            "clientInfo": {"name": "hand", "version": "1"}}),
                                path=path, token=token)
    assert status == 200, text
    session = headers["mcp-session-id"]
    assert len(session) == 32
    result = json.loads(text)["result"]
    assert mcp(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, path=path, token=token,
               headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": result["protocolVersion"]})[0] == 202
    return session, result


def with_a_session(tools_env, version="2025-11-25"):
    """A ToolsEnv with Agentron's rows installed (where the token may be:
    assert_token_only_in_the_tool_rows) and a session opened with `version`:
    (env, port, token, session id, initialize's result)."""
    t = tools_env()
    t.install()
    session, result = initialize(t.api_port, t.token, version=version)
    return t, t.api_port, t.token, session, result


def events(text):
    """The JSON messages of a Server-Sent Events body."""
    return [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ")]


def test_handshake_tools_and_a_streamed_build_in_both_url_forms(tools_env):
    t, port, token, session, result = with_a_session(tools_env)
    assert result["protocolVersion"] == "2025-11-25"
    assert result["serverInfo"]["name"] == "agentron-supervisor"
    assert result["capabilities"] == {"tools": {"listChanged": False}, "logging": {}}
    in_session = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}

    status, headers, text = mcp(port, rpc(2, "tools/list"), token=token, headers=in_session)
    assert status == 200 and headers["content-type"] == "application/json"
    tools = json.loads(text)["result"]["tools"]
    # The same schemas as GET /v1/tools, with titles and annotations.
    listed = t.api("GET", "/v1/tools")[1]["tools"]
    assert [(x["name"], x["inputSchema"], x["title"], x["annotations"]) for x in tools] == \
        [(x["name"], x["inputSchema"], x["title"], x["annotations"]) for x in listed]

    # A read tool answers as JSON: structuredContent is what POST /v1/tools/<name> answers.
    status, _, text = mcp(port, rpc(3, "tools/call", {"name": "supervisor_status"}), token=token, headers=in_session)
    result = json.loads(text)["result"]
    assert result["structuredContent"]["state"] == "ready"
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]

    # The capability form: no header, the token in the path; its own session.
    cap = f"/mcp/{token}"
    cap_session, _ = initialize(port, None, version="2025-06-18", path=cap)
    cap_headers = {"Mcp-Session-Id": cap_session, "MCP-Protocol-Version": "2025-06-18"}
    status, _, text = mcp(port, rpc(4, "tools/call", {"name": "clone_or_pull_agentron"}), path=cap,
                          headers=cap_headers)
    assert json.loads(text)["result"]["structuredContent"]["result"]["action"] == "cloned", text

    # A long job with a progress token: an event stream, progress while it runs, then the result.
    call = rpc(5, "tools/call", {"name": "run_build_agentron", "arguments": {},
                                 "_meta": {"progressToken": "build-1"}})
    assert mcp(port, rpc(6, "logging/setLevel", {"level": "info"}), path=cap, headers=cap_headers)[0] == 200
    status, headers, text = mcp(port, call, path=cap, headers=cap_headers)
    assert status == 200 and headers["content-type"] == "text/event-stream", text
    messages = events(text)
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    logs = [m["params"] for m in messages if m.get("method") == "notifications/message"]
    assert progress and progress[0]["progressToken"] == "build-1"
    assert progress[0]["message"].startswith("run_build_agentron started as job job-")
    assert [p["progress"] for p in progress] == sorted({p["progress"] for p in progress})  # increasing
    assert any("built" in p.get("message", "") for p in progress), progress
    assert any("built" in m["data"] and m["logger"] == "run_build_agentron" for m in logs), logs
    final = messages[-1]
    assert final["id"] == 5 and final["result"]["structuredContent"]["state"] == "succeeded"

    # DELETE ends a session; it is then unknown (404), the other one lives on.
    assert mcp(port, None, method="DELETE", path=cap, headers=cap_headers)[0] == 200
    assert mcp(port, rpc(7, "ping"), path=cap, headers=cap_headers)[0] == 404
    assert mcp(port, rpc(8, "ping"), token=token, headers=in_session)[0] == 200
    # GET offers no stream.
    status, headers, _ = mcp(port, None, method="GET", token=token, headers=in_session)
    assert status == 405 and headers["allow"] == "POST, DELETE"

    t.s.wait_log(r"POST /mcp/… 200")
    assert token not in t.s.log()
    t.assert_token_only_in_the_tool_rows()


def test_every_refusal_has_its_status_and_runs_nothing(tools_env):
    t, port, token, session, _ = with_a_session(tools_env, "2025-06-18")
    in_session = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
    branch = rpc(9, "tools/call", {"name": "create_branch", "arguments": {"name": "never"}})
    lines = len(t.s.lines)
    wrong = "f" * 64

    def refused(expected_status, **kwargs):
        status, headers, text = mcp(port, kwargs.pop("body", branch), **kwargs)
        assert status == expected_status, (kwargs, status, text)
        return headers, text

    # No token, a wrong one, in the header or the path.
    headers, _ = refused(401, headers=in_session)
    assert headers["www-authenticate"] == "Bearer"
    refused(401, token=wrong, headers=in_session)
    for path in (f"/mcp/{wrong}", f"/mcp/{token}x", f"/mcp/{token[:-1]}", f"/mcp/{token}/", "/mcp/"):
        refused(401, path=path, headers=in_session)
    # DNS rebinding: a page's Origin, a name that is not ours.
    refused(403, token=token, headers={**in_session, "Origin": "http://evil.example"})
    refused(403, token=token, headers={**in_session, "Host": f"evil.example:{port}"})
    refused(403, path=f"/mcp/{token}", headers={**in_session, "Origin": "http://evil.example"})
    # The protocol version: unsupported or malformed, after initialize.
    for version in ("2024-11-05", "2099-01-01", "yesterday"):
        _, text = refused(400, token=token, headers={**in_session, "MCP-Protocol-Version": version})
        assert "MCP-Protocol-Version" in json.loads(text)["error"]["message"]
    # The session: none, or one we do not know (the client starts anew).
    refused(400, token=token, headers={"MCP-Protocol-Version": "2025-06-18"})
    _, text = refused(404, token=token, headers={**in_session, "Mcp-Session-Id": "0" * 32})
    assert json.loads(text)["error"]["code"] == -32001
    # Malformed JSON, an invalid message.
    _, text = refused(400, token=token, headers=in_session, raw='{"jsonrpc": "2.0", "method": ')
    assert json.loads(text)["error"]["code"] == -32700
    # Nested beyond 64 levels (what once crashed the supervisor through /v1): refused unparsed.
    deep = ('{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "job_status", '
            '"arguments": {"job_id": "x", "deep": ' + "[" * 131000 + "]" * 131000 + "}}}")
    _, text = refused(400, token=token, headers=in_session, raw=deep)
    assert json.loads(text)["error"]["code"] == -32700 and "64 levels" in json.loads(text)["error"]["message"]
    _, text = refused(400, token=token, headers=in_session, body={"jsonrpc": "1.0", "id": 1, "method": "tools/call"})
    assert json.loads(text)["error"]["code"] == -32600
    # A batch, in a 2025-06-18 session.
    _, text = refused(400, token=token, headers=in_session, body=[branch, rpc(10, "ping")])
    assert json.loads(text)["error"]["code"] == -32600
    # Accept without the event stream.
    _, text = refused(406, token=token, headers={**in_session, "Accept": "application/json"})
    assert json.loads(text)["error"]["code"] == -32000
    # Not JSON at all.
    refused(415, token=token, headers={**in_session, "Content-Type": "text/plain"})
    # 10 MB: refused on its Content-Length, before the body is read (the first 64 KiB are sent).
    big = json.dumps({**branch, "params": {**branch["params"], "pad": "x" * (10 * 1024 * 1024)}}).encode()
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: {ACCEPT}\r\nContent-Type: application/json\r\nMcp-Session-Id: {session}\r\n"
            f"Content-Length: {len(big)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + big[:65536])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    # An input its schema refuses: before 2025-11-25 invalid params.
    status, _, text = mcp(port, rpc(11, "tools/call", {"name": "create_branch", "arguments": {"name": "-x"}}),
                          token=token, headers=in_session)
    assert status == 200 and json.loads(text)["error"]["code"] == -32602, text
    # An unknown tool.
    status, _, text = mcp(port, rpc(12, "tools/call", {"name": "rm_rf"}), token=token, headers=in_session)
    assert json.loads(text)["error"] == {"code": -32602, "message": "Unknown tool: rm_rf"}

    # Nothing ran: no job, no request, no "started" line.
    assert t.jobs() == []
    assert os.listdir(t.s.state_dir / "requests") == []
    assert not any("started as job" in line for line in t.s.lines[lines:])
    t.s.signal(signal.SIGTERM)
    assert t.s.wait_exit() == 0  # its whole log read
    log = t.s.log()
    assert "POST /mcp/… 401" in log and token not in log and wrong not in log
    t.assert_token_only_in_the_tool_rows()


def test_a_2025_03_26_session_takes_a_batch_and_a_tool_failure_is_a_result(tools_env):
    t, port, token, session, result = with_a_session(tools_env, "2025-03-26")
    assert result["protocolVersion"] == "2025-03-26"
    headers = {"Mcp-Session-Id": session}  # 2025-03-26 had no MCP-Protocol-Version header
    batch = [rpc(1, "ping"), {"jsonrpc": "2.0", "method": "notifications/progress"},
             rpc(2, "tools/call", {"name": "restart_status", "arguments": {"id": "nope"}})]
    status, _, text = mcp(port, batch, token=token, headers=headers)
    assert status == 200, text
    answers = json.loads(text)
    assert [a["id"] for a in answers] == [1, 2]
    failed = answers[1]["result"]
    # A failed tool is a result the model reads, not a JSON-RPC error.
    assert failed["isError"] is True and "no restart request 'nope'" in failed["content"][0]["text"]
    assert "structuredContent" not in failed  # not in 2025-03-26
    t.assert_token_only_in_the_tool_rows()


def test_an_initialize_with_an_unknown_version_gets_the_newest_and_stateless_requests_work(tools_env):
    t, port, token, _, result = with_a_session(tools_env, "2024-11-05")
    assert result["protocolVersion"] == "2025-11-25"
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}
    status, answer_headers, text = mcp(port, rpc(1, "server/discover", {"_meta": meta}), token=token,
                                       headers=headers)
    assert status == 200 and "mcp-session-id" not in answer_headers
    assert json.loads(text)["result"]["supportedVersions"] == ["2026-07-28", "2025-11-25", "2025-06-18",
                                                               "2025-03-26"]
    status, _, text = mcp(port, rpc(2, "tools/list", {"_meta": {**meta, "io.modelcontextprotocol/protocolVersion":
                                                                "2099-01-01"}}),
                          token=token, headers={"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"})
    assert status == 400 and json.loads(text)["error"]["code"] == -32022
    t.assert_token_only_in_the_tool_rows()
