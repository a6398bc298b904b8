// The MCP endpoint's JSON-RPC (api/mcp_dispatcher.h), request by request, without a
// socket: the transport's refusals, version negotiation, sessions, the methods, tool
// calls and their results, batches, and the stateless revision.
#include "api/mcp_dispatcher.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"

using namespace agentron;
using nlohmann::json;

namespace {

const char* const kBoth = "application/json, text/event-stream";

struct Fixture {
  FakeClock clock;
  int ids = 0;
  McpSessions sessions{clock, [this] { return "session-" + std::to_string(ids++); }};
  McpDispatcher dispatcher;

  explicit Fixture(std::vector<const ToolSpec*> offered = all_tools())
      : dispatcher(sessions, std::move(offered),
                   McpServerInfo{"agentron-supervisor", "Agentron supervisor", "9.9.9", "use the tools"}) {}

  static std::vector<const ToolSpec*> all_tools() {
    std::vector<const ToolSpec*> tools;
    for (const auto& tool : tool_catalog()) tools.push_back(&tool);
    return tools;
  }

  static HttpRequest post(const json& body, std::vector<std::pair<std::string, std::string>> headers = {},
                          const char* accept = kBoth) {
    HttpRequest r;
    r.method = http::verb::post;
    r.path = "/mcp";
    r.body = body.is_string() ? body.get<std::string>() : body.dump();
    if (accept) r.headers.set(http::field::accept, accept);
    for (const auto& [name, value] : headers) r.headers.set(name, value);
    return r;
  }

  McpPlan handle(const HttpRequest& r) { return dispatcher.handle(r); }

  McpReply reply(const HttpRequest& r) {
    McpPlan plan = handle(r);
    REQUIRE(std::holds_alternative<McpReply>(plan));
    return std::get<McpReply>(plan);
  }

  // initialize with `version`; the session id.
  std::string initialize(const std::string& version = mcp::k2025_11_25) {
    McpReply r = reply(post(request(1, "initialize",
                                    {{"protocolVersion", version},
                                     {"capabilities", json::object()},
                                     {"clientInfo", {{"name", "test"}, {"version", "1"}}}})));
    REQUIRE(r.status == 200);
    REQUIRE(r.headers.size() == 1);
    REQUIRE(r.headers[0].first == "Mcp-Session-Id");
    return r.headers[0].second;
  }

  // A request in the session, with the revision's header.
  HttpRequest in(const std::string& session, const json& body, const std::string& version = mcp::k2025_11_25) {
    return post(body, {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", version}});
  }

  static json request(int id, const std::string& method, json params = json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  }
};

int error_code(const json& body) { return body.at("error").at("code").get<int>(); }

McpToolCall the_call(const McpPlan& plan) {
  REQUIRE(std::holds_alternative<McpExchange>(plan));
  const auto& slots = std::get<McpExchange>(plan).slots;
  REQUIRE(slots.size() == 1);
  REQUIRE(std::holds_alternative<McpToolCall>(slots[0]));
  return std::get<McpToolCall>(slots[0]);
}

json stateless_meta(const std::string& version = mcp::k2026_07_28) {
  return {{"io.modelcontextprotocol/protocolVersion", version},
          {"io.modelcontextprotocol/clientCapabilities", json::object()},
          {"io.modelcontextprotocol/clientInfo", {{"name", "v2"}, {"version", "2"}}}};
}

}  // namespace

TEST_CASE("a POST must accept both JSON and an event stream, else 406 with a JSON-RPC error", "[api][mcp]") {
  Fixture f;
  json ping = Fixture::request(1, "ping");
  for (const char* accept : {"application/json", "text/event-stream", "text/html",
                             "application/json;q=1, "
                             "text/event-stream;q=0"}) {
    INFO(accept);
    McpReply r = f.reply(Fixture::post(ping, {}, accept));
    CHECK(r.status == 406);
    CHECK(r.body["jsonrpc"] == "2.0");
    CHECK(error_code(r.body) == mcp::kServerError);
  }
  CHECK(f.reply(Fixture::post(ping, {}, nullptr)).status == 406);
  // Wildcards take either; what is left is the missing session (400), not 406.
  for (const char* accept : {"*/*", "application/*, text/*", "Application/JSON; q=0.9, TEXT/EVENT-STREAM"}) {
    INFO(accept);
    CHECK(f.reply(Fixture::post(ping, {}, accept)).status == 400);
  }
}

TEST_CASE("initialize answers the client's revision when it is one we speak, else our newest", "[api][mcp]") {
  Fixture f;
  for (auto [asked, answered] : std::vector<std::pair<std::string, std::string>>{
           {"2025-03-26", "2025-03-26"},
           {"2025-06-18", "2025-06-18"},
           {"2025-11-25", "2025-11-25"},
           {"2024-11-05", "2025-11-25"},
           {"2026-07-28", "2025-11-25"},  // the stateless revision has no initialize
           {"not-a-version", "2025-11-25"}}) {
    INFO(asked);
    McpReply r = f.reply(Fixture::post(Fixture::request(7, "initialize", {{"protocolVersion", asked}})));
    REQUIRE(r.status == 200);
    const json& result = r.body.at("result");
    CHECK(r.body["id"] == 7);
    CHECK(result["protocolVersion"] == answered);
    CHECK(result["capabilities"] == json{{"tools", {{"listChanged", false}}}, {"logging", json::object()}});
    CHECK(result["serverInfo"]["name"] == "agentron-supervisor");
    CHECK(result["serverInfo"]["version"] == "9.9.9");
    CHECK(result["serverInfo"].contains("title") == (answered != "2025-03-26"));
    CHECK(result["instructions"] == "use the tools");
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0] ==
          std::pair<std::string, std::string>{"Mcp-Session-Id", "session-" + std::to_string(f.ids - 1)});
  }
  CHECK(f.sessions.size() == 6);
  McpReply no_version = f.reply(Fixture::post(Fixture::request(1, "initialize", {{"capabilities", json::object()}})));
  CHECK(error_code(no_version.body) == mcp::kInvalidParams);
  CHECK(no_version.headers.empty());
  CHECK(f.sessions.size() == 6);
}

TEST_CASE("after initialize a request needs a known session and a revision we speak", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  json ping = Fixture::request(2, "ping");

  McpReply none = f.reply(Fixture::post(ping, {{"MCP-Protocol-Version", "2025-11-25"}}));
  CHECK((none.status == 400 && error_code(none.body) == mcp::kServerError));
  McpReply unknown = f.reply(f.in("session-99", ping));
  CHECK((unknown.status == 404 && error_code(unknown.body) == mcp::kSessionNotFound));
  for (const char* version : {"2024-11-05", "2099-01-01", "garbage", "", "2026-07-28"}) {
    INFO(version);
    McpReply r = f.reply(f.in(session, ping, version));
    CHECK(r.status == 400);
    CHECK(r.body["error"]["message"].get<std::string>().find("MCP-Protocol-Version") != std::string::npos);
  }
  // Any handshake revision we speak is taken (clients send an older one now and then);
  // no header at all means 2025-03-26, as the specification allows.
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    INFO(version);
    McpReply r = f.reply(f.in(session, ping, version));
    CHECK((r.status == 200 && r.body == json{{"jsonrpc", "2.0"}, {"id", 2}, {"result", json::object()}}));
  }
  CHECK(f.reply(Fixture::post(ping, {{"Mcp-Session-Id", session}})).status == 200);
}

TEST_CASE("a session idle for a day is gone: 404, and the client initializes again", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  f.clock.advance(std::chrono::hours(23));
  CHECK(f.reply(f.in(session, Fixture::request(1, "ping"))).status == 200);
  f.clock.advance(std::chrono::hours(24) + std::chrono::seconds(1));
  CHECK(f.reply(f.in(session, Fixture::request(1, "ping"))).status == 404);
  CHECK(f.initialize() != session);
}

TEST_CASE("notifications and responses are answered 202 with no body", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  for (json message : {json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                       json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 1}}}},
                       json{{"jsonrpc", "2.0"}, {"method", "notifications/whatever"}},
                       json{{"jsonrpc", "2.0"}, {"id", 5}, {"result", json::object()}}}) {
    INFO(message.dump());
    McpReply r = f.reply(f.in(session, message));
    CHECK(r.status == 202);
    CHECK(r.body.is_null());
  }
}

TEST_CASE("malformed JSON is -32700, a malformed message -32600, an unknown method -32601", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  for (const char* text : {"{", "", "{\"jsonrpc\": \"2.0\", \"id\": 1,", "nul"}) {
    INFO(text);
    McpReply r = f.reply(f.in(session, json(text)));
    CHECK(r.status == 400);
    CHECK(error_code(r.body) == mcp::kParseError);
    CHECK(r.body["id"].is_null());
  }
  for (json bad : {json{{"id", 1}, {"method", "ping"}}, json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}},
                   json{{"jsonrpc", "2.0"}, {"id", 1}}, json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}},
                   json{{"jsonrpc", "2.0"}, {"id", json::object()}, {"method", "ping"}},
                   json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}}, json(42)}) {
    INFO(bad.dump());
    McpReply r = f.reply(f.in(session, bad));
    CHECK(r.status == 400);
    CHECK(error_code(r.body) == mcp::kInvalidRequest);
  }
  McpReply unknown = f.reply(f.in(session, Fixture::request(3, "resources/list")));
  CHECK(unknown.status == 200);
  CHECK((error_code(unknown.body) == mcp::kMethodNotFound && unknown.body["id"] == 3));
  McpReply bad_params = f.reply(f.in(session, {{"jsonrpc", "2.0"}, {"id", 4}, {"method", "ping"}, {"params", 1}}));
  CHECK(error_code(bad_params.body) == mcp::kInvalidParams);
}

TEST_CASE("tools/list gives every offered tool: title, the agent's description, the schema, annotations",
          "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize(mcp::k2025_06_18);
  McpReply r = f.reply(f.in(session, Fixture::request(1, "tools/list"), mcp::k2025_06_18));
  const json& tools = r.body.at("result").at("tools");
  REQUIRE(tools.size() == tool_catalog().size());
  for (size_t i = 0; i < tools.size(); ++i) {
    const ToolSpec& spec = tool_catalog()[i];
    INFO(spec.name);
    CHECK(tools[i]["name"] == spec.name);
    CHECK(tools[i]["title"] == spec.title);
    CHECK(tools[i]["description"] == spec.description);
    CHECK(tools[i]["inputSchema"] == spec.input_schema);  // as GET /v1/tools has it
    CHECK(tools[i]["annotations"] == spec.annotations.to_json());
  }
  auto find = [&](const std::string& name) {
    for (const auto& t : tools)
      if (t["name"] == name) return t;
    FAIL(name);
    return json();
  };
  CHECK(find("platform_history")["annotations"]["readOnlyHint"] == true);
  CHECK(find("launch_new_agentron")["annotations"]["destructiveHint"] == true);
  CHECK(find("push_to_fork")["description"].get<std::string>().find("never to the upstream") != std::string::npos);
  CHECK(r.body["result"].contains("nextCursor") == false);
  McpReply cursor = f.reply(f.in(session, Fixture::request(2, "tools/list", {{"cursor", "x"}}), mcp::k2025_06_18));
  CHECK(error_code(cursor.body) == mcp::kInvalidParams);

  // 2025-03-26 knows a tool's title only among its annotations.
  std::string old = f.initialize(mcp::k2025_03_26);
  json first = f.reply(f.in(old, Fixture::request(1, "tools/list"), mcp::k2025_03_26)).body["result"]["tools"][0];
  CHECK_FALSE(first.contains("title"));
  CHECK(first["annotations"]["title"] == tool_catalog()[0].title);
}

TEST_CASE("tools/list and tools/call know only the offered tools", "[api][mcp]") {
  Fixture f({find_tool("supervisor_status"), find_tool("job_status")});
  std::string session = f.initialize();
  json tools = f.reply(f.in(session, Fixture::request(1, "tools/list"))).body["result"]["tools"];
  CHECK(tools.size() == 2);
  for (const char* name : {"push_to_fork", "no_such_tool"}) {
    INFO(name);
    McpReply r = f.reply(f.in(session, Fixture::request(2, "tools/call", {{"name", name}})));
    CHECK(r.status == 200);
    CHECK(error_code(r.body) == mcp::kInvalidParams);
    CHECK(r.body["error"]["message"] == std::string("Unknown tool: ") + name);
  }
}

TEST_CASE("tools/call becomes the HTTP tool's CallTool; progress on a long job asks for a stream", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  McpToolCall call = the_call(f.handle(f.in(
      session, Fixture::request(9, "tools/call", {{"name", "create_branch"}, {"arguments", {{"name", "faster"}}}}))));
  CHECK(call.id == 9);
  CHECK(call.call.tool == find_tool("create_branch"));
  CHECK(call.call.input == json{{"name", "faster"}});
  CHECK(call.version == mcp::k2025_11_25);
  CHECK(call.progress_token.is_null());
  CHECK_FALSE(call.stream);

  // An optional field sent as null is left out, as over HTTP; no arguments are {}.
  call = the_call(
      f.handle(f.in(session, Fixture::request(1, "tools/call",
                                              {{"name", "platform_history"}, {"arguments", {{"limit", nullptr}}}}))));
  CHECK(call.call.input == json::object());
  call = the_call(f.handle(f.in(session, Fixture::request(1, "tools/call", {{"name", "supervisor_status"}}))));
  CHECK(call.call.input == json::object());

  json with_progress = {
      {"name", "run_build_agentron"}, {"arguments", json::object()}, {"_meta", {{"progressToken", "p-1"}}}};
  call = the_call(f.handle(f.in(session, Fixture::request(1, "tools/call", with_progress))));
  CHECK((call.stream && call.progress_token == "p-1"));
  with_progress["name"] = "create_branch";  // short: answered at once, as JSON
  with_progress["arguments"] = {{"name", "x"}};
  call = the_call(f.handle(f.in(session, Fixture::request(1, "tools/call", with_progress))));
  CHECK(call.progress_token == "p-1");
  CHECK_FALSE(call.stream);

  McpReply no_name = f.reply(f.in(session, Fixture::request(1, "tools/call", {{"arguments", json::object()}})));
  CHECK(error_code(no_name.body) == mcp::kInvalidParams);
  McpReply not_object =
      f.reply(f.in(session, Fixture::request(1, "tools/call", {{"name", "job_status"}, {"arguments", json::array()}})));
  CHECK(error_code(not_object.body) == mcp::kInvalidParams);
}

TEST_CASE("an input the schema refuses is -32602 until 2025-11-25, a tool error the model reads from then on",
          "[api][mcp]") {
  Fixture f;
  json bad = {{"name", "create_branch"}, {"arguments", {{"name", "-x"}}}};
  for (const char* version : {"2025-03-26", "2025-06-18"}) {
    INFO(version);
    std::string session = f.initialize(version);
    McpReply r = f.reply(f.in(session, Fixture::request(3, "tools/call", bad), version));
    CHECK(r.status == 200);
    CHECK(error_code(r.body) == mcp::kInvalidParams);
    CHECK(r.body["error"]["message"].get<std::string>().rfind("Invalid params: create_branch: name: ", 0) == 0);
  }
  std::string session = f.initialize(mcp::k2025_11_25);
  McpReply r = f.reply(f.in(session, Fixture::request(3, "tools/call", bad)));
  const json& result = r.body.at("result");
  CHECK(result["isError"] == true);
  CHECK(result["structuredContent"]["error"]["code"] == "bad_request");
  CHECK(result["content"][0]["text"].get<std::string>().rfind("create_branch: name: ", 0) == 0);
  // An unknown field too (the schemas allow no others).
  json extra = {{"name", "push_to_fork"}, {"arguments", {{"remote", "upstream"}}}};
  r = f.reply(f.in(session, Fixture::request(4, "tools/call", extra)));
  CHECK(r.body["result"]["isError"] == true);
}

TEST_CASE("a tool's answer is structuredContent plus text; a failure is isError with the reason", "[api][mcp]") {
  Fixture f;
  McpToolCall call{5, CallTool{find_tool("push_to_fork"), json::object()}, mcp::k2025_11_25, nullptr, "", false};
  json ok = f.dispatcher.tool_result(call, ApiResponse{200, {{"job_id", "job-1"}, {"state", "succeeded"}}});
  CHECK(ok["id"] == 5);
  CHECK(ok["result"]["structuredContent"] == json{{"job_id", "job-1"}, {"state", "succeeded"}});
  CHECK(json::parse(ok["result"]["content"][0]["text"].get<std::string>()) == ok["result"]["structuredContent"]);
  CHECK(ok["result"]["content"][0]["type"] == "text");
  CHECK_FALSE(ok["result"].contains("isError"));
  // A running job (202) is not a failure.
  CHECK_FALSE(f.dispatcher.tool_result(call, ApiResponse{202, {{"state", "running"}}})["result"].contains("isError"));

  json refused = {{"error", {{"code", "push_refused"}, {"message", "refusing to push to the upstream"}}},
                  {"job", {{"state", "failed"}, {"log_tail", "remote: no\n"}}}};
  json failed = f.dispatcher.tool_result(call, ApiResponse{422, refused});
  CHECK(failed["result"]["isError"] == true);
  CHECK(failed["result"]["structuredContent"] == refused);
  std::string text = failed["result"]["content"][0]["text"];
  CHECK(text.find("refusing to push to the upstream (push_refused, HTTP 422)") == 0);
  CHECK(text.find("remote: no") != std::string::npos);
  CHECK_FALSE(failed.contains("error"));  // not a JSON-RPC error

  call.version = mcp::k2025_03_26;  // no structuredContent before 2025-06-18
  CHECK_FALSE(f.dispatcher.tool_result(call, ApiResponse{200, {{"a", 1}}})["result"].contains("structuredContent"));
}

TEST_CASE("batches: answered in a 2025-03-26 session, refused in 2025-06-18 and later", "[api][mcp]") {
  Fixture f;
  json batch = json::array({Fixture::request(1, "ping"), json{{"jsonrpc", "2.0"}, {"method", "notifications/x"}},
                            Fixture::request(2, "tools/call", {{"name", "supervisor_status"}}),
                            Fixture::request(3, "initialize", {{"protocolVersion", "2025-03-26"}})});
  for (const char* version : {"2025-06-18", "2025-11-25"}) {
    INFO(version);
    std::string session = f.initialize(version);
    McpReply r = f.reply(f.in(session, batch, version));
    CHECK(r.status == 400);
    CHECK(error_code(r.body) == mcp::kInvalidRequest);
  }
  std::string session = f.initialize(mcp::k2025_03_26);
  McpPlan plan = f.handle(f.in(session, batch, mcp::k2025_03_26));
  REQUIRE(std::holds_alternative<McpExchange>(plan));
  const McpExchange& exchange = std::get<McpExchange>(plan);
  CHECK(exchange.batch);
  REQUIRE(exchange.slots.size() == 3);  // the notification has no answer
  const McpToolCall& call = std::get<McpToolCall>(exchange.slots[1]);
  McpReply done = McpDispatcher::finish(exchange, {f.dispatcher.tool_result(call, ApiResponse{200, {{"a", 1}}})});
  REQUIRE(done.body.is_array());
  CHECK(done.body.size() == 3);
  CHECK(done.body[0] == json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", json::object()}});
  CHECK(done.body[1]["id"] == 2);
  CHECK(error_code(done.body[2]) == mcp::kInvalidRequest);  // initialize is never part of a batch
  CHECK(f.reply(f.in(session, json::array(), mcp::k2025_03_26)).status == 400);
  json only_notes = json::array({json{{"jsonrpc", "2.0"}, {"method", "notifications/x"}}});
  CHECK(f.reply(f.in(session, only_notes, mcp::k2025_03_26)).status == 202);
}

TEST_CASE("logging/setLevel sets the session's level; tool calls carry it", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  McpReply r = f.reply(f.in(session, Fixture::request(1, "logging/setLevel", {{"level", "info"}})));
  CHECK(r.body == json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", json::object()}});
  McpToolCall call = the_call(f.handle(f.in(
      session, Fixture::request(2, "tools/call", {{"name", "job_status"}, {"arguments", {{"job_id", "job-1"}}}}))));
  CHECK(call.log_level == "info");
  McpReply bad = f.reply(f.in(session, Fixture::request(3, "logging/setLevel", {{"level", "loud"}})));
  CHECK(error_code(bad.body) == mcp::kInvalidParams);

  CHECK(mcp::log_passes("info", "info"));
  CHECK(mcp::log_passes("info", "error"));
  CHECK_FALSE(mcp::log_passes("warning", "info"));
  CHECK_FALSE(mcp::log_passes("", "emergency"));
}

TEST_CASE("GET is 405, DELETE ends the session", "[api][mcp]") {
  Fixture f;
  std::string session = f.initialize();
  HttpRequest get = f.in(session, json(""));
  get.method = http::verb::get;
  McpReply r = f.reply(get);
  CHECK(r.status == 405);
  CHECK(r.headers == HttpHeaders{{"Allow", "POST, DELETE"}});

  HttpRequest del = f.in(session, json(""));
  del.method = http::verb::delete_;
  HttpRequest del_without = Fixture::post(json(""));
  del_without.method = http::verb::delete_;
  CHECK(f.reply(del_without).status == 400);
  CHECK(f.reply(del).status == 200);
  CHECK(f.reply(del).status == 404);
  CHECK(f.reply(f.in(session, Fixture::request(1, "ping"))).status == 404);
}

TEST_CASE("the stateless revision: _meta and the headers name the revision, no session", "[api][mcp]") {
  Fixture f;
  auto stateless = [&](const std::string& method, json params,
                       std::vector<std::pair<std::string, std::string>> extra = {}) {
    params["_meta"] = params.contains("_meta") ? params["_meta"] : stateless_meta();
    std::vector<std::pair<std::string, std::string>> headers{{"MCP-Protocol-Version", "2026-07-28"},
                                                             {"Mcp-Method", method}};
    for (auto& h : extra) headers.push_back(h);
    return Fixture::post(Fixture::request(1, method, params), headers);
  };
  McpReply discover = f.reply(stateless("server/discover", json::object()));
  CHECK(discover.status == 200);
  const json& result = discover.body["result"];
  CHECK(result["resultType"] == "complete");
  CHECK(result["supportedVersions"] == json{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"});
  CHECK(result["capabilities"] == json{{"tools", {{"listChanged", false}}}});
  CHECK(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "agentron-supervisor");
  CHECK(discover.headers.empty());  // no session
  CHECK(f.sessions.size() == 0);

  McpReply list = f.reply(stateless("tools/list", json::object()));
  CHECK(list.body["result"]["tools"].size() == tool_catalog().size());
  CHECK((list.body["result"]["resultType"] == "complete" && list.body["result"]["cacheScope"] == "private"));
  CHECK(list.body["result"]["ttlMs"].is_number());

  json call_params = {{"name", "job_status"}, {"arguments", {{"job_id", "job-1"}}}};
  McpToolCall call = the_call(f.handle(stateless("tools/call", call_params, {{"Mcp-Name", "job_status"}})));
  CHECK(call.version == mcp::k2026_07_28);
  json answer = f.dispatcher.tool_result(call, ApiResponse{200, {{"state", "running"}}});
  CHECK(answer["result"]["resultType"] == "complete");
  // Mcp-Name may come base64-encoded.
  the_call(f.handle(stateless("tools/call", call_params, {{"Mcp-Name", "=?base64?am9iX3N0YXR1cw==?="}})));

  McpReply mismatch = f.reply(stateless("tools/call", call_params, {{"Mcp-Name", "push_to_fork"}}));
  CHECK((mismatch.status == 400 && error_code(mismatch.body) == mcp::kHeaderMismatch));
  McpReply no_name = f.reply(stateless("tools/call", call_params));
  CHECK((no_name.status == 400 && error_code(no_name.body) == mcp::kHeaderMismatch));
  HttpRequest wrong_method = stateless("tools/list", json::object());
  wrong_method.headers.set("Mcp-Method", "tools/call");
  CHECK(error_code(f.reply(wrong_method).body) == mcp::kHeaderMismatch);
  HttpRequest no_header = stateless("tools/list", json::object());
  no_header.headers.erase("MCP-Protocol-Version");
  CHECK(f.reply(no_header).status == 400);
  CHECK(error_code(f.reply(no_header).body) == mcp::kHeaderMismatch);

  // A revision we do not speak: 400 naming the ones we do.
  json future = {{"_meta", stateless_meta("2099-01-01")}};
  HttpRequest r = stateless("tools/list", future);
  r.headers.set("MCP-Protocol-Version", "2099-01-01");
  McpReply unsupported = f.reply(r);
  CHECK((unsupported.status == 400 && error_code(unsupported.body) == mcp::kUnsupportedVersion));
  CHECK(unsupported.body["error"]["data"]["requested"] == "2099-01-01");
  CHECK(unsupported.body["error"]["data"]["supported"][0] == "2026-07-28");
  // ... and a header naming one, with no session and no _meta: refused too (400).
  McpReply bare = f.reply(Fixture::post(Fixture::request(1, "tools/list"), {{"MCP-Protocol-Version", "2099-01-01"}}));
  CHECK(bare.status == 400);

  json no_caps = {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}};
  CHECK(error_code(f.reply(stateless("tools/list", no_caps)).body) == mcp::kInvalidParams);
  // ping and logging/setLevel are gone from this revision: 404 with -32601.
  McpReply ping = f.reply(stateless("ping", json::object()));
  CHECK((ping.status == 404 && error_code(ping.body) == mcp::kMethodNotFound));
}

TEST_CASE("notifications and events are serialised as the transport sends them", "[api][mcp]") {
  json progress = mcp::progress_notification("tok", 3, "built\nline two");
  CHECK(progress == json{{"jsonrpc", "2.0"},
                         {"method", "notifications/progress"},
                         {"params", {{"progressToken", "tok"}, {"progress", 3.0}, {"message", "built\nline two"}}}});
  CHECK_FALSE(mcp::progress_notification(1, 1, "")["params"].contains("message"));
  CHECK(mcp::log_notification("info", "run_build_agentron", "x")["params"] ==
        json{{"level", "info"}, {"logger", "run_build_agentron"}, {"data", "x"}});
  std::string event = mcp::sse_event(progress);
  CHECK(event.rfind("event: message\ndata: {", 0) == 0);
  CHECK(event.find('\n', 22) == event.size() - 2);  // one data line, then the blank line
  CHECK(json::parse(event.substr(21)) == progress);
}
