#include "control/protocol.h"

#include <spdlog/spdlog.h>

#include <map>
#include <memory>

#include "control/string_fields.h"

namespace agentron {
namespace {

using Fields = std::map<std::string, std::string>;

// One row per method: its name, its fields, and how they make the typed request.
struct Method {
  const char* name;
  std::vector<FieldSpec> fields;
  ControlRequest (*make)(Fields& f);
};

const std::vector<Method>& methods() {
  static const std::vector<Method> table = {
      {"status", {}, [](Fields&) -> ControlRequest { return StatusRequest{}; }},
      {"verify", {}, [](Fields&) -> ControlRequest { return VerifyRequest{}; }},
      {"stop", {{"reason", false}}, [](Fields& f) -> ControlRequest { return StopRequest{f["reason"]}; }},
      {"start", {{"reason", false}}, [](Fields& f) -> ControlRequest { return StartRequest{f["reason"]}; }},
      {"approve", {{"id", true}}, [](Fields& f) -> ControlRequest { return ApproveRequest{f["id"]}; }},
      {"deny",
       {{"id", true}, {"reason", false}},
       [](Fields& f) -> ControlRequest {
         return DenyRequest{f["id"], f["reason"]};
       }},
      {"rollback",
       {{"reason", false}, {"requested_by", false}},
       [](Fields& f) -> ControlRequest {
         return RollbackRequest{f["reason"], f["requested_by"]};
       }},
      {"login_code", {}, [](Fields&) -> ControlRequest { return LoginCodeRequest{}; }},
  };
  return table;
}

// Fields by name, for to_json: the same names the table reads.
Fields fields_of(const ControlRequest& request) {
  struct Visitor {
    Fields operator()(const StatusRequest&) const { return {}; }
    Fields operator()(const VerifyRequest&) const { return {}; }
    Fields operator()(const StopRequest& r) const { return {{"reason", r.reason}}; }
    Fields operator()(const StartRequest& r) const { return {{"reason", r.reason}}; }
    Fields operator()(const ApproveRequest& r) const { return {{"id", r.id}}; }
    Fields operator()(const DenyRequest& r) const { return {{"id", r.id}, {"reason", r.reason}}; }
    Fields operator()(const RollbackRequest& r) const {
      return {{"reason", r.reason}, {"requested_by", r.requested_by}};
    }
    Fields operator()(const LoginCodeRequest&) const { return {}; }
  };
  return std::visit(Visitor{}, request);
}

}  // namespace

const char* const kMethods = "status, verify, stop, start, approve, deny, rollback, login_code";

Result<ControlRequest> parse_control_request(const nlohmann::json& request) {
  if (!request.is_object()) {
    return Error{control_error::bad_request,
                 "expected one JSON object with a \"method\" string, got " + describe_json_type(request)};
  }
  auto m = request.find("method");
  if (m == request.end() || !m->is_string()) {
    return Error{control_error::bad_request, "expected a \"method\" string (one of: " + std::string(kMethods) + ")"};
  }
  const std::string& name = m->get_ref<const std::string&>();
  for (const auto& method : methods()) {
    if (name != method.name) continue;
    auto fields = read_string_fields(request, method.fields, name + " request", {"method"});
    if (!fields) return fields.error();
    return method.make(*fields);
  }
  return Error{control_error::unknown_method,
               "unknown method \"" + name + "\"; this supervisor knows: " + std::string(kMethods)};
}

const char* method_of(const ControlRequest& request) { return methods()[request.index()].name; }

nlohmann::json to_json(const ControlRequest& request) {
  nlohmann::json j = {{"method", method_of(request)}};
  for (const auto& [name, value] : fields_of(request)) {
    if (!value.empty()) j[name] = value;
  }
  return j;
}

nlohmann::json ok_response(nlohmann::json data) { return {{"ok", true}, {"data", std::move(data)}}; }

nlohmann::json error_response(const std::string& code, const std::string& message) {
  return {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
}

void dispatch_control_request(const nlohmann::json& request, ControlActions& actions, Responder respond) {
  auto parsed = parse_control_request(request);
  if (!parsed) {
    spdlog::warn("control: refused a request: {}", parsed.error().message);
    return respond(error_response(parsed.error()));
  }
  // Answered once: an action that answered and then threw must not answer twice.
  auto answered = std::make_shared<bool>(false);
  Responder once = [answered, respond](nlohmann::json response) {
    if (std::exchange(*answered, true)) return;
    respond(std::move(response));
  };
  const char* method = method_of(*parsed);
  try {
    std::visit([&](const auto& r) { actions.act(r, once); }, *parsed);
  } catch (const std::exception& e) {
    spdlog::error("control: {} request failed with an exception (a bug; the supervisor goes on): {}", method, e.what());
    once(error_response(control_error::internal, std::string(method) + " failed: " + e.what()));
  }
}

}  // namespace agentron
