// What Agentron's runtime (upstream bc97d36) does with a tool row of protocol "mcp":
// packages/runtime/src/tools/adapters/mcp-tool.ts takes config.endpoint and
// config.toolName, and packages/runtime/src/mcp/client.ts makes a new Client
// ({name: "agentron-studio", version: "0.1.0"}) with a StreamableHTTPClientTransport
// built from the URL alone (no headers), connects, calls the tool with the input and
// hands the whole result on — never closing the client. Here with the SDK version
// Agentron pins (1.26.0). Run by tests/integration/test_mcp_clients.py.
//
//   node agentron_rows.mjs '<json>'   with [{row, input}, …]: prints the results as JSON.
import { Client } from "mcp-sdk-pinned/client/index.js";
import { StreamableHTTPClientTransport } from "mcp-sdk-pinned/client/streamableHttp.js";

const calls = JSON.parse(process.argv[2]);
const results = [];
for (const { row, input } of calls) {
  const config = row.config;
  if (row.protocol !== "mcp" || !config?.endpoint || !config?.toolName)
    throw new Error("MCP tool requires endpoint and toolName in config.");
  const client = new Client({ name: "agentron-studio", version: "0.1.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(config.endpoint)));
  results.push(await client.callTool({ name: config.toolName, arguments: input ?? {} }));
}
console.log(JSON.stringify(results));
process.exit(0);  // the clients stay open, as in Agentron
