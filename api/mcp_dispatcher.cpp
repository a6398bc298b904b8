#include "api/mcp_dispatcher.h"

#include <algorithm>

#include "api/header_text.h"
#include "common/json_depth.h"

namespace agentron {

using nlohmann::json;

namespace mcp {

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> versions{k2026_07_28, k2025_11_25, k2025_06_18, k2025_03_26};
  return versions;
}

bool is_supported(const std::string& version) {
  const auto& all = supported_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

bool is_legacy(const std::string& version) { return is_supported(version) && version < k2026_07_28; }

const std::vector<std::string>& log_levels() {
  static const std::vector<std::string> levels{"debug", "info",     "notice", "warning",
                                               "error", "critical", "alert",  "emergency"};
  return levels;
}

bool log_passes(const std::string& threshold, const std::string& level) {
  const auto& levels = log_levels();
  auto at = [&](const std::string& name) { return std::find(levels.begin(), levels.end(), name) - levels.begin(); };
  return !threshold.empty() && at(level) >= at(threshold);
}

json progress_notification(const json& token, double progress, const std::string& message) {
  json params = {{"progressToken", token}, {"progress", progress}};
  if (!message.empty()) params["message"] = message;
  return {{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}};
}

json log_notification(const std::string& level, const std::string& logger, const std::string& data) {
  return {{"jsonrpc", "2.0"},
          {"method", "notifications/message"},
          {"params", {{"level", level}, {"logger", logger}, {"data", data}}}};
}

std::string sse_event(const json& message) {
  // dump() escapes every newline inside strings: the data is one line.
  return "event: message\ndata: " + message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace mcp

namespace {

constexpr const char* kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr const char* kMetaCapabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";

json rpc_error(const json& id, int code, const std::string& message, json data = nullptr) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", error}};
}

json rpc_result(const json& id, json result) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; }

McpReply reply(int status, json body) { return McpReply{status, std::move(body), {}}; }

McpReply refuse(int status, int code, const std::string& message, const json& id = nullptr, json data = nullptr) {
  return reply(status, rpc_error(id, code, message, std::move(data)));
}

using header_text::lower;
using header_text::trim;

// Whether an Accept header takes `type` ("application/json"): the type itself, its
// "application/*" or "*/*", unless given q=0.
bool accepts(std::string_view accept, std::string_view type) {
  std::string wanted = lower(type);
  std::string family = wanted.substr(0, wanted.find('/')) + "/*";
  for (size_t start = 0; start <= accept.size();) {
    size_t end = std::min(accept.find(',', start), accept.size());
    std::string_view range = accept.substr(start, end - start);
    std::string media = lower(trim(range.substr(0, range.find(';'))));
    bool refused = false;
    for (size_t at = range.find(';'); at != std::string_view::npos; at = range.find(';', at + 1)) {
      std::string param = lower(trim(range.substr(at + 1, range.find(';', at + 1) - at - 1)));
      if (param.rfind("q=", 0) == 0) refused = param.find_first_not_of("q=0.") == std::string::npos;
    }
    if (!refused && (media == wanted || media == family || media == "*/*")) return true;
    start = end + 1;
  }
  return false;
}

bool has_header(const HttpRequest& request, std::string_view name) { return request.headers.count(name) > 0; }

std::string header(const HttpRequest& request, std::string_view name) { return std::string(request.header(name)); }

// How long a client may cache tools/list and server/discover (the stateless revision):
// the list changes only with the supervisor's config.
constexpr int kListTtlMs = 300000;

json supported_list() {
  json versions = json::array();
  for (const auto& v : mcp::supported_versions()) versions.push_back(v);
  return versions;
}

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer() || id.is_number_unsigned(); }

// A value for a message about what the client sent: short, printable.
std::string shown(const std::string& text) {
  std::string out = text.substr(0, 64);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Mcp-Name may carry its value as "=?base64?…?=" (any value that is not plain ASCII).
std::optional<std::string> decoded_header_value(const std::string& value) {
  constexpr std::string_view kPrefix = "=?base64?", kSuffix = "?=";
  if (value.size() < kPrefix.size() + kSuffix.size() || value.rfind(kPrefix, 0) != 0 ||
      value.compare(value.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return value;
  std::string_view data(value);
  data = data.substr(kPrefix.size(), data.size() - kPrefix.size() - kSuffix.size());
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : data) {
    if (c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// The request's params as an object ({} when absent); null when they are not one.
json params_of(const json& message) {
  if (!message.contains("params") || message["params"].is_null()) return json::object();
  return message["params"].is_object() ? message["params"] : json();
}

json meta_of(const json& params) {
  return params.is_object() && params.contains("_meta") && params["_meta"].is_object() ? params["_meta"]
                                                                                       : json::object();
}

// Whether a message is a well-formed JSON-RPC request or notification; the error if not.
std::optional<json> malformed(const json& message) {
  json id = message.is_object() && message.contains("id") && valid_id(message["id"]) ? message["id"] : json();
  if (!message.is_object() || message.value("jsonrpc", json()) != "2.0")
    return rpc_error(id, mcp::kInvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message");
  bool is_response = !message.contains("method") && (message.contains("result") || message.contains("error"));
  if (is_response) return std::nullopt;
  if (!message.contains("method") || !message["method"].is_string())
    return rpc_error(id, mcp::kInvalidRequest, "Invalid Request: no method");
  if (message.contains("id") && !valid_id(message["id"]))
    return rpc_error(nullptr, mcp::kInvalidRequest, "Invalid Request: an id must be a string or an integer");
  return std::nullopt;
}

bool is_request(const json& message) { return message.contains("method") && message.contains("id"); }

std::string client_name(const json& info) {
  if (!info.is_object()) return "";
  std::string name = info.value("name", json()).is_string() ? info["name"].get<std::string>() : "";
  std::string version = info.value("version", json()).is_string() ? info["version"].get<std::string>() : "";
  return shown(name + (version.empty() ? "" : " " + version));
}

// The text a model reads for a tool's answer.
std::string tool_text(const ApiResponse& answer, bool failed) {
  if (!failed) return answer.body.dump(2, ' ', false, json::error_handler_t::replace);
  const json& error = answer.body.contains("error") ? answer.body["error"] : json::object();
  std::string text = error.value("message", std::string("the tool failed")) + " (" +
                     error.value("code", std::string("error")) + ", HTTP " + std::to_string(answer.status) + ")";
  if (answer.body.contains("job") && answer.body["job"].is_object()) {
    std::string tail = answer.body["job"].value("log_tail", std::string());
    if (!tail.empty()) text += "\n\nlast lines of its output:\n" + tail;
  }
  return text;
}

}  // namespace

McpDispatcher::McpDispatcher(McpSessions& sessions, std::vector<const ToolSpec*> offered, McpServerInfo info)
    : sessions_(sessions), offered_(std::move(offered)), info_(std::move(info)) {}

McpPlan McpDispatcher::handle(const HttpRequest& request) {
  switch (request.method) {
    case http::verb::post: return post(request);
    case http::verb::delete_: return end_session(request);
    default: {
      // GET would open a stream for server-initiated messages: this server sends none.
      McpReply r = refuse(405, mcp::kServerError, "Method Not Allowed: the MCP endpoint takes POST (and DELETE)");
      r.headers.emplace_back("Allow", "POST, DELETE");
      return r;
    }
  }
}

McpReply McpDispatcher::end_session(const HttpRequest& request) {
  if (!has_header(request, "Mcp-Session-Id"))
    return refuse(400, mcp::kServerError, "Bad Request: DELETE needs the Mcp-Session-Id header");
  if (!sessions_.close(header(request, "Mcp-Session-Id")))
    return refuse(404, mcp::kSessionNotFound, "Session not found");
  return reply(200, nullptr);
}

McpPlan McpDispatcher::post(const HttpRequest& request) {
  std::string_view accept = request.header(http::field::accept);
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
    return refuse(406, mcp::kServerError,
                  "Not Acceptable: the client must accept both application/json and text/event-stream");
  }
  // Refused before it is parsed: nlohmann's copy recurses once per level (the red
  // team's crash through /v1, docs/security.md).
  if (json_nesting(request.body) > kMaxJsonNesting) {
    return refuse(400, mcp::kParseError,
                  "Parse error: the body nests deeper than " + std::to_string(kMaxJsonNesting) + " levels");
  }
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return refuse(400, mcp::kParseError, "Parse error: the body is not JSON");
  if (body.is_object() && meta_of(params_of(body)).contains(kMetaVersion)) return stateless(request, body);
  if (body.is_object() && body.value("method", json()) == "initialize") {
    if (auto error = malformed(body)) return reply(400, *error);
    return initialize(body);
  }
  // Without a session, a revision we do not know of is the stateless kind's business:
  // its error names the revisions we speak.
  if (body.is_object() && !has_header(request, "Mcp-Session-Id") && has_header(request, "MCP-Protocol-Version") &&
      !mcp::is_legacy(header(request, "MCP-Protocol-Version")))
    return stateless(request, body);
  auto session = session_of(request);
  if (auto* refused = std::get_if<McpReply>(&session)) return *refused;
  return in_session(*std::get<McpSession*>(session), body);
}

std::variant<McpSession*, McpReply> McpDispatcher::session_of(const HttpRequest& request) {
  if (!has_header(request, "Mcp-Session-Id"))
    return refuse(400, mcp::kServerError, "Bad Request: no Mcp-Session-Id header; send initialize first");
  McpSession* session = sessions_.find(header(request, "Mcp-Session-Id"));
  if (!session) return refuse(404, mcp::kSessionNotFound, "Session not found: send initialize again");
  std::string version = header(request, "MCP-Protocol-Version");
  if (has_header(request, "MCP-Protocol-Version") && !mcp::is_legacy(version)) {
    return refuse(400, mcp::kServerError,
                  "Bad Request: unsupported MCP-Protocol-Version '" + shown(version) + "'; this session speaks " +
                      session->version);
  }
  return session;
}

McpPlan McpDispatcher::in_session(McpSession& session, const json& body) {
  McpExchange exchange;
  exchange.batch = body.is_array();
  if (exchange.batch && session.version != mcp::k2025_03_26) {
    return refuse(400, mcp::kInvalidRequest,
                  "Invalid Request: JSON-RPC batches are not accepted in " + session.version +
                      " (only in 2025-03-26); send one message per POST");
  }
  if (exchange.batch && body.empty()) return refuse(400, mcp::kInvalidRequest, "Invalid Request: an empty batch");
  for (const json& message : exchange.batch ? body : json::array({body})) {
    if (auto answer = this->answer(&session, session.version, message)) exchange.slots.push_back(std::move(*answer));
  }
  if (exchange.slots.empty()) return reply(202, nullptr);
  bool calls = std::any_of(exchange.slots.begin(), exchange.slots.end(),
                           [](const auto& slot) { return std::holds_alternative<McpToolCall>(slot); });
  if (calls) return exchange;
  // One malformed message on its own is a 400; in a batch its error is one of the answers.
  const json& only = std::get<json>(exchange.slots.front());
  if (!exchange.batch && only.contains("error") && (only["error"]["code"] == mcp::kInvalidRequest))
    return reply(400, only);
  return finish(exchange, {});
}

McpPlan McpDispatcher::initialize(const json& message) {
  json id = message.value("id", json());
  if (!valid_id(id)) return refuse(400, mcp::kInvalidRequest, "Invalid Request: initialize is a request with an id");
  json params = params_of(message);
  if (params.is_null() || !params.value("protocolVersion", json()).is_string())
    return reply(200, rpc_error(id, mcp::kInvalidParams, "Invalid params: initialize needs params.protocolVersion"));
  std::string asked = params["protocolVersion"];
  std::string version = mcp::is_legacy(asked) ? asked : mcp::kNewestLegacy;
  McpSession& session = sessions_.open(version, client_name(params.value("clientInfo", json())));
  json result = {
      {"protocolVersion", version}, {"capabilities", capabilities(version)}, {"serverInfo", server_info(version)}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  McpExchange exchange;
  exchange.slots.emplace_back(rpc_result(id, std::move(result)));
  exchange.headers.emplace_back("Mcp-Session-Id", session.id);
  return finish(exchange, {});
}

std::optional<std::variant<json, McpToolCall>> McpDispatcher::answer(McpSession* session, const std::string& version,
                                                                     const json& message) {
  if (auto error = malformed(message)) return *error;
  if (!is_request(message)) return std::nullopt;  // a notification, or a response to us (we ask nothing)
  const json& id = message["id"];
  const std::string method = message["method"];
  json params = params_of(message);
  if (params.is_null()) return rpc_error(id, mcp::kInvalidParams, "Invalid params: params must be an object");
  if (method == "initialize")
    return rpc_error(id, mcp::kInvalidRequest, "Invalid Request: initialize must be sent on its own");
  if (method == "ping") return rpc_result(id, json::object());
  if (method == "tools/list") {
    if (params.contains("cursor") && !params["cursor"].is_null())
      return rpc_error(id, mcp::kInvalidParams, "Invalid params: unknown cursor (the list has one page)");
    return rpc_result(id, list_tools(version));
  }
  if (method == "tools/call") return call_tool(id, params, version, session ? session->log_level : "");
  if (method == "logging/setLevel" && session) {
    const json& level = params.value("level", json());
    const auto& levels = mcp::log_levels();
    if (!level.is_string() || std::find(levels.begin(), levels.end(), level.get<std::string>()) == levels.end())
      return rpc_error(id, mcp::kInvalidParams,
                       "Invalid params: level must be one of debug, info, notice, "
                       "warning, error, critical, alert, emergency");
    session->log_level = level;
    return rpc_result(id, json::object());
  }
  return rpc_error(id, mcp::kMethodNotFound, "Method not found: " + shown(method));
}

std::variant<json, McpToolCall> McpDispatcher::call_tool(const json& id, const json& params, const std::string& version,
                                                         const std::string& log_level) {
  if (!params.value("name", json()).is_string())
    return rpc_error(id, mcp::kInvalidParams, "Invalid params: tools/call needs params.name");
  std::string name = params["name"];
  bool offered = std::any_of(offered_.begin(), offered_.end(), [&](const ToolSpec* t) { return t->name == name; });
  if (!offered) return rpc_error(id, mcp::kInvalidParams, "Unknown tool: " + shown(name));
  json arguments = params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object()) return rpc_error(id, mcp::kInvalidParams, "Invalid params: arguments must be an object");
  json progress = meta_of(params).value("progressToken", json());
  if (!progress.is_string() && !progress.is_number_integer() && !progress.is_number_unsigned()) progress = nullptr;
  McpToolCall call{id, CallTool{}, version, progress, log_level, false};
  auto routed = route_tool_call(name, arguments);
  if (auto* refused = std::get_if<ApiError>(&routed)) {
    // Until 2025-11-25 an input the schema refuses is invalid params; from then on a
    // tool execution error the model reads and corrects (SEP-1303).
    if (version < std::string(mcp::k2025_11_25))
      return rpc_error(id, mcp::kInvalidParams, "Invalid params: " + refused->message);
    return tool_result(call, ApiResponse{refused->status, refused->body()});
  }
  call.call = std::get<CallTool>(std::get<ApiCall>(routed));
  call.stream = !progress.is_null() && call.call.tool->run == ToolRun::fork_job;
  return call;
}

json McpDispatcher::tool_result(const McpToolCall& call, const ApiResponse& answer) const {
  bool failed = answer.status < 200 || answer.status > 299;
  json result = {{"content", json::array({{{"type", "text"}, {"text", tool_text(answer, failed)}}})}};
  if (call.version >= std::string(mcp::k2025_06_18) && answer.body.is_object())
    result["structuredContent"] = answer.body;
  if (failed) result["isError"] = true;
  return rpc_result(call.id, complete(std::move(result), call.version));
}

McpReply McpDispatcher::finish(const McpExchange& exchange, const std::vector<json>& results) {
  json answers = json::array();
  size_t next = 0;
  for (const auto& slot : exchange.slots) {
    if (const json* ready = std::get_if<json>(&slot)) {
      answers.push_back(*ready);
    } else if (next < results.size()) {
      answers.push_back(results[next++]);
    }
  }
  if (answers.empty()) return McpReply{202, nullptr, exchange.headers};
  return McpReply{200, exchange.batch ? answers : answers[0], exchange.headers};
}

json McpDispatcher::list_tools(const std::string& version) const {
  json tools = json::array();
  for (const ToolSpec* tool : offered_) {
    json annotations = tool->annotations.to_json();
    json entry = {{"name", tool->name}, {"description", tool->description}, {"inputSchema", tool->input_schema}};
    if (version >= std::string(mcp::k2025_06_18)) {
      entry["title"] = tool->title;
    } else {
      annotations["title"] = tool->title;  // 2025-03-26 has the title only among the annotations
    }
    entry["annotations"] = annotations;
    tools.push_back(std::move(entry));
  }
  json result = {{"tools", tools}};
  if (!mcp::is_legacy(version)) {
    result["ttlMs"] = kListTtlMs;
    result["cacheScope"] = "private";  // nothing shared between clients should keep it
  }
  return complete(std::move(result), version);
}

json McpDispatcher::capabilities(const std::string& version) const {
  json caps = {{"tools", {{"listChanged", false}}}};
  // Logging is deprecated in the stateless revision (a per-request _meta level instead).
  if (mcp::is_legacy(version)) caps["logging"] = json::object();
  return caps;
}

json McpDispatcher::server_info(const std::string& version) const {
  json info = {{"name", info_.name}, {"version", info_.version}};
  if (version >= std::string(mcp::k2025_06_18)) info["title"] = info_.title;
  return info;
}

json McpDispatcher::complete(json result, const std::string& version) const {
  if (mcp::is_legacy(version)) return result;
  result["resultType"] = "complete";
  result["_meta"] = {{kMetaServerInfo, server_info(version)}};
  return result;
}

McpPlan McpDispatcher::stateless(const HttpRequest& request, const json& message) {
  if (auto error = malformed(message)) return reply(400, *error);
  if (!is_request(message)) return reply(202, nullptr);  // no notification of this revision needs an answer
  if (auto refused = stateless_refusal(request, message)) return *refused;
  const json& id = message["id"];
  const std::string method = message["method"];
  json params = params_of(message);
  std::string version = meta_of(params)[kMetaVersion];
  if (method == "server/discover") {
    json result = {{"supportedVersions", supported_list()}, {"capabilities", capabilities(version)}};
    if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
    result["ttlMs"] = kListTtlMs;
    result["cacheScope"] = "private";
    return reply(200, rpc_result(id, complete(std::move(result), version)));
  }
  if (method == "tools/list") return reply(200, rpc_result(id, list_tools(version)));
  if (method != "tools/call") {
    // The stateless revision answers an unknown method 404 (so a client can tell it from
    // a server without this endpoint by the JSON-RPC body).
    return refuse(404, mcp::kMethodNotFound, "Method not found: " + shown(method), id);
  }
  json level = meta_of(params).value(kMetaLogLevel, json());
  McpExchange exchange;
  exchange.slots.emplace_back(call_tool(id, params, version, level.is_string() ? level.get<std::string>() : ""));
  if (std::holds_alternative<McpToolCall>(exchange.slots.front())) return exchange;
  return finish(exchange, {});
}

std::optional<McpReply> McpDispatcher::stateless_refusal(const HttpRequest& request, const json& message) const {
  const json& id = message["id"];
  json params = params_of(message);
  json meta = meta_of(params);
  if (!meta.contains(kMetaVersion) || !meta[kMetaVersion].is_string()) {
    return refuse(400, mcp::kInvalidParams,
                  "Invalid params: _meta needs \"" + std::string(kMetaVersion) + "\" and \"" + kMetaCapabilities +
                      "\" (or send initialize for a revision up to 2025-11-25)",
                  id);
  }
  std::string version = meta[kMetaVersion];
  if (!has_header(request, "MCP-Protocol-Version") || header(request, "MCP-Protocol-Version") != version) {
    return refuse(400, mcp::kHeaderMismatch,
                  "Header mismatch: MCP-Protocol-Version must be sent and equal _meta's protocolVersion", id);
  }
  if (!mcp::is_supported(version) || mcp::is_legacy(version)) {
    return refuse(400, mcp::kUnsupportedVersion, "Unsupported protocol version", id,
                  {{"supported", supported_list()}, {"requested", version}});
  }
  if (!meta.contains(kMetaCapabilities) || !meta[kMetaCapabilities].is_object())
    return refuse(400, mcp::kInvalidParams, "Invalid params: _meta needs \"" + std::string(kMetaCapabilities) + "\"",
                  id);
  if (header(request, "Mcp-Method") != message["method"])
    return refuse(400, mcp::kHeaderMismatch, "Header mismatch: Mcp-Method must be sent and equal the method", id);
  if (message["method"] == "tools/call") {
    auto name = decoded_header_value(header(request, "Mcp-Name"));
    if (!has_header(request, "Mcp-Name") || !name || params.value("name", json()) != *name)
      return refuse(400, mcp::kHeaderMismatch, "Header mismatch: Mcp-Name must be sent and equal params.name", id);
  }
  return std::nullopt;
}

}  // namespace agentron
