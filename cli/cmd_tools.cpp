// agentron-tools install | uninstall | print: the agent's tools as rows of a running
// Agentron's own tool table, through its /api/tools API — what a user would click
// together by hand, done idempotently (docs/agent-tools.md). mcp-config: what a user
// pastes into an MCP client's settings to reach the same tools over MCP.
#include <cstdio>
#include <fstream>

#include "api/agentron_tools.h"
#include "cli/commands.h"
#include "cli/config_source.h"
#include "cli/control_api_client.h"
#include "cli/http_client.h"
#include "launcher/instance_spec.h"

namespace agentron {
namespace {

using nlohmann::json;

int fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return kExitFailure;
}

std::vector<const ToolSpec*> offered(const Config& config) {
  std::vector<const ToolSpec*> tools;
  for (const auto& tool : tool_catalog()) {
    const auto& only = config.control.tools;
    if (!only || std::find(only->begin(), only->end(), tool.name) != only->end()) tools.push_back(&tool);
  }
  return tools;
}

constexpr const char* kTokenPlaceholder = "<the token in [control] token_file>";

json without_token(json row) {
  if (row["protocol"] == "mcp") {
    std::string endpoint = row["config"]["endpoint"];
    row["config"]["endpoint"] = endpoint.substr(0, endpoint.rfind('/') + 1) + kTokenPlaceholder;
  } else {
    row["config"]["headers"]["Authorization"] = std::string("Bearer ") + kTokenPlaceholder;
  }
  return row;
}

// Agentron's tool rows now (GET /api/tools): a JSON array.
Result<json> listed_tools(const HttpUrl& agentron) {
  auto answer = http_json(agentron, "GET", "/api/tools", nullptr);
  if (!answer) return answer.error();
  auto list = json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (answer->status != 200 || !list.is_array()) {
    return Error{"agentron_refused", "GET /api/tools answered " + std::to_string(answer->status) +
                                         (list.is_array() ? "" : " without a list of tools") +
                                         ": is --agentron-url Agentron's address?"};
  }
  return list;
}

}  // namespace

int cmd_agentron_tools(const std::string& verb, const ToolsArgs& args) {
  auto config = load_or_report(find_config_source(args.config));
  if (!config) return kExitConfig;
  if (!config->control.configured) {
    return fail(
        "the config has no [control] section: the tools are served by the control API (add [control], "
        "restart the supervisor)");
  }
  auto listen = listen_address(*config);
  if (!listen) return fail(listen.error().message);
  std::string api_base = "http://" + *listen;
  std::vector<json> rows;
  std::string token = "<token>";
  if (verb != "uninstall") {
    if (verb == "install" || args.with_token) {
      auto read = read_token(config->control.token_file);
      if (!read) return fail(read.error().message);
      token = *read;
    }
    auto protocol = args.mcp ? ToolRowProtocol::mcp : ToolRowProtocol::http;
    for (const ToolSpec* tool : offered(*config)) rows.push_back(agentron_tool_row(*tool, api_base, token, protocol));
  }
  if (verb == "print") {
    json all = json::array();
    for (const auto& row : rows) all.push_back(args.with_token ? row : without_token(row));
    std::printf("%s\n", all.dump(2).c_str());
    return kExitOk;
  }
  auto agentron = parse_http_url(args.agentron_url);
  if (!agentron) return fail("--agentron-url " + args.agentron_url + ": " + agentron.error().message);
  auto listed = listed_tools(*agentron);
  if (!listed) return fail(listed.error().message);
  auto plan = plan_tool_rows(rows, *listed);
  for (const auto& change : plan) {
    if (args.dry_run) {
      std::printf("would %s\n", change.describe().c_str());
      continue;
    }
    auto answer = http_json(*agentron, change.method, change.path, change.body);
    if (!answer) return fail(answer.error().message);
    if (answer->status < 200 || answer->status > 299) {
      // Agentron may echo the row it refused: its answer is shown without the token.
      std::string said = answer->body.substr(0, 500);
      for (size_t at; !token.empty() && (at = said.find(token)) != std::string::npos;)
        said.replace(at, token.size(), "<token>");
      return fail(change.describe() + " answered " + std::to_string(answer->status) + ": " + said);
    }
    std::printf("%s\n", change.describe().c_str());
  }
  std::size_t kept = rows.size() - std::count_if(plan.begin(), plan.end(),
                                                 [](const ToolRowChange& change) { return change.method != "DELETE"; });
  std::fprintf(stderr, "%s%zu change(s) in %s; %zu tool(s) already as they should be\n",
               args.dry_run ? "dry run: " : "", plan.size(), args.agentron_url.c_str(), kept);
  return kExitOk;
}

int cmd_mcp_config(const ToolsArgs& args) {
  if (args.client == "agentron") {
    // Agentron's MCP client takes a URL alone: a row per tool, with the capability endpoint.
    ToolsArgs rows = args;
    rows.mcp = true;
    std::fprintf(stderr,
                 "Agentron: `agentron-supervisor agentron-tools install --mcp` adds these rows (POST /api/tools)%s\n",
                 args.with_token ? "" : "; --with-token prints the real token");
    return cmd_agentron_tools("print", rows);
  }
  auto config = load_or_report(find_config_source(args.config));
  if (!config) return kExitConfig;
  if (!config->control.configured) return fail("the config has no [control] section: MCP is served by the control API");
  auto listen = listen_address(*config);
  if (!listen) return fail(listen.error().message);
  std::string token = kTokenPlaceholder;
  if (args.with_token) {
    auto read = read_token(config->control.token_file);
    if (!read) return fail(read.error().message);
    token = *read;
  }
  std::string url = "http://" + *listen + "/mcp";
  json headers = {{"Authorization", "Bearer " + token}};
  json server = {{"url", url}, {"headers", headers}};
  const char* where = "";
  if (args.client == "claude") {
    server = {{"type", "http"}, {"url", url}, {"headers", headers}};
    where =
        "Claude Code: put this in .mcp.json (the project) or ~/.claude.json (you), or run\n  claude mcp add "
        "--transport http agentron-supervisor URL --header \"Authorization: Bearer TOKEN\"\nClaude Desktop's "
        "custom connectors take a URL alone: use the capability URL (`--client generic` shows it)";
  } else if (args.client == "cursor") {
    where = "Cursor: put this in ~/.cursor/mcp.json (you) or .cursor/mcp.json (the project)";
  } else {
    std::printf(
        "url:     %s\nheader:  Authorization: Bearer %s\nor, for a client that cannot send headers, the "
        "capability URL (the token is in it: treat it as the token):\n         %s/%s\ntransport: "
        "Streamable HTTP; MCP revisions 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26\n",
        url.c_str(), token.c_str(), url.c_str(), token.c_str());
    if (!args.with_token) std::fprintf(stderr, "--with-token prints the real token\n");
    return kExitOk;
  }
  json snippet = {{"mcpServers", {{"agentron-supervisor", server}}}};
  std::printf("%s\n", snippet.dump(2).c_str());
  std::fprintf(stderr, "%s%s\n", where, args.with_token ? "" : "\n--with-token prints the real token");
  return kExitOk;
}

}  // namespace agentron
