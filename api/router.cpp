#include "api/router.h"

#include <charconv>

#include "api/jobs.h"
#include "api/json_schema.h"
#include "common/json_depth.h"

namespace agentron {
namespace {

using nlohmann::json;

ApiError bad_request(const std::string& message) { return ApiError{400, control_error::bad_request, message}; }

std::variant<json, ApiError> body_object(const ApiRequest& request) {
  if (request.body.empty()) return json::object();
  if (json_nesting(request.body) > kMaxJsonNesting) {
    return bad_request("the body nests deeper than " + std::to_string(kMaxJsonNesting) + " levels");
  }
  auto j = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad_request("the body is not JSON");
  if (!j.is_object()) return bad_request("the body must be a JSON object");
  return j;
}

// The body's fields: each a string, none unknown (named in the error).
std::variant<std::map<std::string, std::string>, ApiError> string_fields(const json& body,
                                                                         std::initializer_list<const char*> allowed) {
  std::map<std::string, std::string> fields;
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) {
      std::string names;
      for (const char* name : allowed) names += std::string(names.empty() ? "" : ", ") + name;
      return bad_request("unknown field \"" + key + "\"; the fields are " + names);
    }
    if (!value.is_string()) return bad_request("field \"" + key + "\" must be a string");
    fields[key] = value.get<std::string>();
  }
  return fields;
}

std::variant<int, ApiError> query_int(const ApiRequest& request, const char* name, int fallback, int min, int max) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || value < min || value > max)
    return bad_request(std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                       std::to_string(max));
  return value;
}

// Path segments: "/v1/requests/x/approve" → {"v1", "requests", "x", "approve"}.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return parts;
}

std::variant<ApiCall, ApiError> restart_request(const json& body) {
  auto fields = string_fields(body, {"branch", "commit", "summary", "requested_by", "run_id", "when"});
  if (auto* e = std::get_if<ApiError>(&fields)) return *e;
  auto& f = std::get<0>(fields);
  PostRestartRequest r{f["branch"],       f["commit"], f["summary"],
                       f["requested_by"], f["run_id"], f.count("when") ? f["when"] : "now"};
  if (r.branch.empty()) return bad_request("field \"branch\" is required");
  if (r.summary.empty()) return bad_request("field \"summary\" is required");
  if (r.when != "now" && r.when != "idle") return bad_request("field \"when\" must be \"now\" or \"idle\"");
  // The same limits as launch_new_agentron's (lengths, the branch's and commit's forms).
  if (const ToolSpec* launch = find_tool("launch_new_agentron")) {
    if (auto s = validate_json(launch->input_schema, body); !s) return bad_request(s.error().message);
  }
  return ApiCall{std::move(r)};
}

ApiError not_found(const ApiRequest& request) {
  return ApiError{404, "not_found", "no route " + request.method + " " + request.path.substr(0, 200)};
}

ApiError wrong_method(const ApiRequest& request, const char* allowed) {
  return ApiError{405, "method_not_allowed", request.path.substr(0, 200) + " takes " + allowed};
}

// `call` if the method is the one the route takes, else 405.
std::variant<ApiCall, ApiError> when(bool method_ok, ApiCall call, const ApiRequest& request, const char* allowed) {
  if (!method_ok) return wrong_method(request, allowed);
  return call;
}

}  // namespace

std::variant<ApiCall, ApiError> route(const ApiRequest& request) {
  auto parts = segments(request.path);
  if (parts.size() < 2 || parts[0] != "v1") return not_found(request);
  const std::string& m = request.method;
  bool get = m == "GET", post = m == "POST";
  // The body is looked at only on a route that takes one: an unknown path is 404 first.
  auto body = body_object(request);
  const ApiError* bad_body = post ? std::get_if<ApiError>(&body) : nullptr;
  static const json kEmpty = json::object();
  const json& input = post && !bad_body ? std::get<json>(body) : kEmpty;
  auto no_fields = [&](ApiCall call) -> std::variant<ApiCall, ApiError> {
    if (bad_body) return *bad_body;
    if (!input.empty()) return bad_request("this request takes no fields, got \"" + input.begin().key() + "\"");
    return call;
  };
  const std::string& what = parts[1];
  if (parts.size() == 2) {
    if (what == "ping") return when(get, Ping{}, request, "GET");
    if (what == "status") {
      if (!get) return wrong_method(request, "GET");
      return no_fields(StatusRequest{});
    }
    if (what == "history") {
      if (!get) return wrong_method(request, "GET");
      auto limit = query_int(request, "limit", 50, 1, 1000);
      if (auto* e = std::get_if<ApiError>(&limit)) return *e;
      auto kind = request.query.count("kind") ? request.query.at("kind") : "";
      return ApiCall{GetHistory{std::get<int>(limit), kind}};
    }
    if (what == "requests") {
      if (post && bad_body) return *bad_body;
      if (post) return restart_request(input);
      if (!get) return wrong_method(request, "GET or POST");
      auto limit = query_int(request, "limit", 50, 1, 1000);
      if (auto* e = std::get_if<ApiError>(&limit)) return *e;
      auto offset = query_int(request, "offset", 0, 0, 1000000);
      if (auto* e = std::get_if<ApiError>(&offset)) return *e;
      return ApiCall{GetRequests{std::get<int>(limit), std::get<int>(offset)}};
    }
    if (what == "rollback") {
      if (!post) return wrong_method(request, "POST");
      if (bad_body) return *bad_body;
      auto fields = string_fields(input, {"reason", "requested_by"});
      if (auto* e = std::get_if<ApiError>(&fields)) return *e;
      auto& f = std::get<0>(fields);
      return ApiCall{RollbackRequest{f["reason"], f["requested_by"]}};
    }
    if (what == "backups") {
      if (get) return ApiCall{GetBackups{}};
      if (post) return no_fields(PostBackup{});
      return wrong_method(request, "GET or POST");
    }
    if (what == "tools") return when(get, ListTools{}, request, "GET");
  }
  if (parts.size() == 3) {
    const std::string& id = parts[2];
    if (what == "requests") return when(get, GetRequest{id}, request, "GET");
    if (what == "jobs") return when(get, GetJob{id}, request, "GET");
    if (what == "tools") {
      if (!post) return wrong_method(request, "POST");
      if (bad_body) return *bad_body;
      return route_tool_call(id, input);
    }
  }
  if (parts.size() == 4 && what == "requests" && (parts[3] == "approve" || parts[3] == "deny")) {
    if (!post) return wrong_method(request, "POST");
    if (parts[3] == "approve") return no_fields(ApproveRequest{parts[2]});
    if (bad_body) return *bad_body;
    auto fields = string_fields(input, {"reason"});
    if (auto* e = std::get_if<ApiError>(&fields)) return *e;
    return ApiCall{DenyRequest{parts[2], std::get<0>(fields)["reason"]}};
  }
  return not_found(request);
}

std::variant<ApiCall, ApiError> route_tool_call(const std::string& name, const json& input) {
  const ToolSpec* tool = find_tool(name);
  if (!tool)
    return ApiError{404, "unknown_tool", "no tool '" + name.substr(0, 64) + "'; the tools are " + tool_names()};
  // Models often send an optional field as null: that is the field left out.
  json given = input;
  for (auto it = given.begin(); it != given.end();) it = it->is_null() ? given.erase(it) : std::next(it);
  if (auto valid = validate_json(tool->input_schema, given); !valid)
    return ApiError{400, control_error::bad_request, name + ": " + valid.error().message};
  return ApiCall{CallTool{tool, given}};
}

bool operator_only(const ApiCall& call) {
  return std::holds_alternative<ApproveRequest>(call) || std::holds_alternative<DenyRequest>(call) ||
         std::holds_alternative<RollbackRequest>(call) || std::holds_alternative<PostBackup>(call);
}

int http_status_for(const std::string& code) {
  if (code == control_error::no_such_request || code == job_error::no_such_job || code == "unknown_tool" ||
      code == "not_found")
    return 404;
  if (code == control_error::handover_in_flight || code == job_error::busy || code == control_error::not_ready ||
      code == control_error::cannot_verify || code == control_error::no_previous_release ||
      code == control_error::previous_release_gone || code == "backup_busy")
    return 409;
  if (code == control_error::shutting_down) return 503;
  if (code == control_error::internal || code == job_error::start_failed) return 500;
  return 400;
}

ApiError api_error(const Error& error) { return ApiError{http_status_for(error.code), error.code, error.message}; }

std::map<std::string, std::string> parse_query(const std::string& query) {
  auto decode = [](const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out += ' ';
      } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> params;
  size_t at = 0;
  while (at <= query.size() && !query.empty()) {
    size_t amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    std::string part = query.substr(at, amp - at);
    size_t eq = part.find('=');
    if (!part.empty()) params[decode(part.substr(0, eq))] = eq == std::string::npos ? "" : decode(part.substr(eq + 1));
    at = amp + 1;
  }
  return params;
}

}  // namespace agentron
