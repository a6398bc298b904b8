// The seed's flow driven through the supervisor's MCP endpoint by an official MCP
// client — what an agent (Agentron's runtime, Claude, Cursor) does with it. Run by
// tests/integration/test_mcp_clients.py, which sets up the supervisor, the fixture
// app and the local git repositories, and checks what this prints.
//
//   node seed_flow.mjs '<json>'   with {sdk, url, token?, workspace, marker, flow}
//     sdk:   "pinned" (@modelcontextprotocol/sdk 1.26.0, what Agentron pins), "newest"
//            (the newest 1.x), or "v2" (@modelcontextprotocol/client, negotiating the
//            stateless 2026-07-28 revision with versionNegotiation "auto")
//     url:   the endpoint: http://127.0.0.1:<port>/mcp (then `token` goes in an
//            Authorization header) or the capability URL .../mcp/<token> (no header)
//     flow:  "seed" — ensure fork … push, the build with progress, launch, history;
//            "quick" — list, a read, a refused input, a build with progress
//
// Prints one JSON object: what the test asserts on. Any failure exits 1 with the reason.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const config = JSON.parse(process.argv[2]);
const deadline = (seconds) => Date.now() + seconds * 1000;

async function loadSdk(sdk) {
  if (sdk === "v2") {
    const mod = await import("@modelcontextprotocol/client");
    return { Client: mod.Client, Transport: mod.StreamableHTTPClientTransport };
  }
  const pkg = sdk === "pinned" ? "mcp-sdk-pinned" : "mcp-sdk-newest";
  const { Client } = await import(`${pkg}/client/index.js`);
  const { StreamableHTTPClientTransport } = await import(`${pkg}/client/streamableHttp.js`);
  return { Client, Transport: StreamableHTTPClientTransport };
}

const { Client, Transport } = await loadSdk(config.sdk);
const transportOptions = config.token ? { requestInit: { headers: { Authorization: `Bearer ${config.token}` } } } : {};
if (process.env.MCP_DEBUG) {
  // Every request and answer on stderr (the test shows stderr when this fails).
  transportOptions.fetch = async (url, init) => {
    console.error(">>", init?.method, init?.body ?? "");
    const response = await fetch(url, init);
    console.error("<<", response.status, response.headers.get("content-type"));
    return response;
  };
}
const transport = new Transport(new URL(config.url), transportOptions);
const clientOptions = config.sdk === "v2" ? { versionNegotiation: { mode: "auto" } } : {};
const client = new Client({ name: "agentron-supervisor-tests", version: "1.0.0" }, clientOptions);
await client.connect(transport);

const summary = {
  sdk: config.sdk,
  server: client.getServerVersion(),
  instructions: client.getInstructions(),
  protocolVersion:
    typeof client.getNegotiatedProtocolVersion === "function"
      ? client.getNegotiatedProtocolVersion()
      : transport.protocolVersion,
  sessionId: transport.sessionId ?? null,
  calls: [],
};

// A tool call as the agent makes it: the structured answer, or a thrown error with the text.
async function call(name, args = {}, options = undefined) {
  // 1.x: callTool(params, resultSchema, options); v2: callTool(params, options).
  const params = { name, arguments: args };
  const result =
    config.sdk === "v2" ? await client.callTool(params, options) : await client.callTool(params, undefined, options);
  summary.calls.push({ name, isError: result.isError === true });
  if (result.isError) {
    const error = new Error(`${name} failed: ${result.content?.[0]?.text}`);
    error.result = result;
    throw error;
  }
  if (!result.structuredContent) throw new Error(`${name}: no structuredContent`);
  if (JSON.stringify(JSON.parse(result.content[0].text)) !== JSON.stringify(result.structuredContent))
    throw new Error(`${name}: the text is not the structured answer`);
  return result.structuredContent;
}

async function refused(name, args) {
  try {
    await call(name, args);
  } catch (error) {
    if (error.result) return error.result;
    return { protocolError: { code: error.code, message: error.message } };
  }
  throw new Error(`${name} ${JSON.stringify(args)} was not refused`);
}

// Polls a status tool until `done` says so, within `seconds` (the harness's poll_until).
async function until(what, seconds, probe) {
  const end = deadline(seconds);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what} not reached within ${seconds}s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The build, asking for progress: the build script waits for `marker`, which is
// written only once a progress notification has shown its first line — so the
// notifications demonstrably arrive while the job runs, not after it.
async function buildWithProgress() {
  const progress = [];
  const built = await call(
    "run_build_agentron",
    { wait_seconds: 120 },
    {
      onprogress: (p) => {
        progress.push(p);
        if ((p.message ?? "").includes("compiling")) writeFileSync(config.marker, "");
      },
      resetTimeoutOnProgress: true,
      timeout: 120000,
    },
  );
  summary.build = { state: built.state, log_tail: built.log_tail, progress };
  return built;
}

const listed = await client.listTools();
summary.tools = listed.tools.map((t) => ({
  name: t.name,
  title: t.title ?? null,
  description: t.description,
  annotations: t.annotations,
  inputSchema: t.inputSchema,
}));

if (config.flow === "seed") {
  const fork = await call("ensure_agentron_fork");
  summary.fork_url = fork.result.fork_url;
  summary.cloned = (await call("clone_or_pull_agentron")).result.action;
  summary.branch = (await call("create_branch", { name: "faster" })).result.branch;
  // The agent's edit: code with its docs.
  writeFileSync(join(config.workspace, "search.sh"), "# faster search\necho fast\n");
  mkdirSync(join(config.workspace, "docs"), { recursive: true });
  writeFileSync(join(config.workspace, "docs", "search.md"), "# Search\n\nfaster search.\n");
  const committed = await call("commit_changes", { message: "Faster search\n\nWith its docs." });
  summary.commit = committed.result.commit;
  summary.pushed = (await call("push_to_fork")).result;
  await buildWithProgress();
  const launched = await call("launch_new_agentron", {
    branch: summary.branch,
    commit: summary.commit,
    summary: "faster search",
    run_id: `run-${config.sdk}`,
  });
  summary.launched = launched;
  summary.outcome = await until("the handover's end", 90, async () => {
    const request = await call("restart_status", { id: launched.id });
    return ["done", "rolled_back", "rejected"].includes(request.state) ? request : null;
  });
  summary.history = await call("platform_history", { limit: 5 });
  summary.status = await call("supervisor_status");
} else {
  summary.status = await call("supervisor_status");
  summary.history = await call("platform_history", { limit: 5 });
  summary.bad_input = await refused("create_branch", { name: "-x" });
  summary.unknown_tool = await refused("no_such_tool", {});
  await call("clone_or_pull_agentron");
  await buildWithProgress();
}

// A handshake client ends its session (DELETE); the stateless revision has none.
if (transport.sessionId) {
  await transport.terminateSession();
  summary.terminated = transport.sessionId === undefined;
}
await client.close();
console.log(JSON.stringify(summary));
