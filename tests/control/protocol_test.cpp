#include "control/protocol.h"

#include <catch2/catch.hpp>

namespace agentron {
namespace {

using json = nlohmann::json;

std::string error_of(const json& request) {
  auto parsed = parse_control_request(request);
  REQUIRE_FALSE(parsed);
  return parsed.error().code + ": " + parsed.error().message;
}

// Records which action ran, with what; throws when told to.
struct RecordingActions : ControlActions {
  std::string ran;
  bool throw_after_answer = false;
  void act(const StatusRequest&, Responder respond) override { done("status", respond); }
  void act(const VerifyRequest&, Responder respond) override { done("verify", respond); }
  void act(const StopRequest& r, Responder respond) override { done("stop " + r.reason, respond); }
  void act(const StartRequest& r, Responder respond) override { done("start " + r.reason, respond); }
  void act(const ApproveRequest& r, Responder respond) override { done("approve " + r.id, respond); }
  void act(const DenyRequest& r, Responder respond) override { done("deny " + r.id + " " + r.reason, respond); }
  void act(const RollbackRequest&, Responder) override { throw std::runtime_error("boom"); }
  void act(const LoginCodeRequest&, Responder respond) override { done("login_code", respond); }
  void done(std::string what, const Responder& respond) {
    ran = std::move(what);
    respond(ok_response(ran));
    if (throw_after_answer) throw std::runtime_error("after the answer");
  }
};

}  // namespace

TEST_CASE("every control method parses back from what to_json writes") {
  std::vector<ControlRequest> all = {StatusRequest{},
                                     VerifyRequest{},
                                     StopRequest{"maintenance"},
                                     StartRequest{""},
                                     ApproveRequest{"r-1"},
                                     DenyRequest{"r-2", "not now"},
                                     RollbackRequest{"bad", "ops"}};
  for (const auto& request : all) {
    auto parsed = parse_control_request(to_json(request));
    REQUIRE(parsed);
    CHECK(parsed->index() == request.index());
    CHECK(to_json(*parsed) == to_json(request));
  }
  CHECK(to_json(StartRequest{""}) == json{{"method", "start"}});
  CHECK(std::string(method_of(DenyRequest{})) == "deny");
}

TEST_CASE("a control request that is not an object or has no method string is refused") {
  CHECK(error_of(json::array()) == "bad_request: expected one JSON object with a \"method\" string, got an array");
  CHECK(error_of(json::object()).starts_with("bad_request: expected a \"method\" string (one of: status,"));
  CHECK(error_of({{"method", 5}}).starts_with("bad_request: expected a \"method\" string"));
  CHECK(error_of({{"method", "reboot"}}) ==
        "unknown_method: unknown method \"reboot\"; this supervisor knows: status, verify, stop, start, approve, "
        "deny, rollback, login_code");
}

TEST_CASE("a field of the wrong type is refused with its name and what came instead") {
  CHECK(error_of({{"method", "start"}, {"reason", 5}}) ==
        "bad_request: start request: field \"reason\" must be a string, got a number");
  CHECK(error_of({{"method", "deny"}, {"id", "r"}, {"reason", nullptr}}) ==
        "bad_request: deny request: field \"reason\" must be a string, got null");
  CHECK(error_of({{"method", "approve"}, {"id", {{"x", 1}}}}) ==
        "bad_request: approve request: field \"id\" must be a string, got an object");
}

TEST_CASE("a missing or empty required field is refused") {
  CHECK(error_of({{"method", "approve"}}) == "bad_request: approve request: missing field \"id\"");
  CHECK(error_of({{"method", "deny"}, {"id", ""}}) == "bad_request: deny request: missing field \"id\"");
}

TEST_CASE("an unknown field is refused with the fields the method takes") {
  CHECK(error_of({{"method", "status"}, {"verbose", true}}) ==
        "bad_request: status request: unknown field \"verbose\"; it takes no fields");
  CHECK(error_of({{"method", "rollback"}, {"id", "x"}}) ==
        "bad_request: rollback request: unknown field \"id\"; it takes reason, requested_by");
}

TEST_CASE("dispatch runs the action of the parsed type and answers once") {
  RecordingActions actions;
  std::vector<json> answers;
  auto respond = [&](json r) { answers.push_back(std::move(r)); };
  dispatch_control_request({{"method", "deny"}, {"id", "r-2"}, {"reason", "no"}}, actions, respond);
  CHECK(actions.ran == "deny r-2 no");
  REQUIRE(answers.size() == 1);
  CHECK(answers[0]["ok"] == true);
}

TEST_CASE("dispatch answers a bad request without running anything") {
  RecordingActions actions;
  std::vector<json> answers;
  dispatch_control_request({{"method", "start"}, {"reason", 5}}, actions, [&](json r) { answers.push_back(r); });
  CHECK(actions.ran.empty());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0]["error"]["code"] == "bad_request");
}

TEST_CASE("an action that throws is answered as an internal error, once, and does not escape") {
  RecordingActions actions;
  std::vector<json> answers;
  auto respond = [&](json r) { answers.push_back(std::move(r)); };
  REQUIRE_NOTHROW(dispatch_control_request({{"method", "rollback"}}, actions, respond));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0]["error"]["code"] == "internal_error");
  CHECK(answers[0]["error"]["message"] == "rollback failed: boom");

  actions.throw_after_answer = true;
  answers.clear();
  REQUIRE_NOTHROW(dispatch_control_request({{"method", "status"}}, actions, respond));
  REQUIRE(answers.size() == 1);  // the action's own answer; the throw adds none
  CHECK(answers[0]["ok"] == true);
}

}  // namespace agentron
