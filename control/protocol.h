// The control protocol: the typed requests a client (the CLI over the unix socket;
// next, the HTTP API) sends the supervisor, and the answers it gets.
//
// On the wire a request is one JSON object, {"method": "<name>", <string fields>}:
//   → {"method":"deny","id":"20261127T081500Z-3f9a2c","reason":"not now"}
//   ← {"ok":true,"data":{...}}  or  {"ok":false,"error":{"code":"...","message":"..."}}
// parse_control_request checks every field's presence and type, here and only here,
// for every transport; a request that does not parse is answered with an error that
// names the field, and nothing runs. The supervisor dispatches on the parsed type
// (ControlActions), never on method strings.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "common/result.h"

namespace agentron {

// The error codes a control answer carries, in one place for every transport (the
// HTTP API maps them to statuses): the protocol's own, and the supervisor's answers.
namespace control_error {
inline constexpr const char* bad_request = "bad_request";          // not a request: the message names the field
inline constexpr const char* unknown_method = "unknown_method";    // the method is not one of kMethods
inline constexpr const char* shutting_down = "shutting_down";      // the supervisor is stopping: nothing new starts
inline constexpr const char* not_ready = "not_ready";              // verify: no ready instance (or it went)
inline constexpr const char* not_verified = "not_verified";        // verify: the instance failed verification
inline constexpr const char* no_such_request = "no_such_request";  // approve/deny: not awaiting approval
inline constexpr const char* internal = "internal_error";          // a bug: logged with its context
inline constexpr const char* not_running = "not_running";          // client side: no supervisor listens
inline constexpr const char* cannot_verify = "cannot_verify";      // [health] verification = "none"
inline constexpr const char* handover_in_flight = "handover_in_flight";        // one handover at a time
inline constexpr const char* no_previous_release = "no_previous_release";      // rollback: nothing to go back to
inline constexpr const char* previous_release_gone = "previous_release_gone";  // rollback: its folder is gone
}  // namespace control_error

struct StatusRequest {};
struct VerifyRequest {};
struct StopRequest {   // stop the app and keep it stopped; answered once it is gone
  std::string reason;  // logged; may be empty
};
struct StartRequest {  // start it again (from stopped or failed)
  std::string reason;
};
struct ApproveRequest {
  std::string id;  // a request awaiting approval; never empty
};
struct DenyRequest {
  std::string id;  // never empty
  std::string reason;
};
struct RollbackRequest {  // back to the previous release, by the verified path
  std::string reason;
  std::string requested_by;
};

// A one-time login link for the pages (`agentron-supervisor open`): only over the
// control socket, which the operator alone may use — never a token sent over TCP.
struct LoginCodeRequest {};

using ControlRequest = std::variant<StatusRequest, VerifyRequest, StopRequest, StartRequest, ApproveRequest,
                                    DenyRequest, RollbackRequest, LoginCodeRequest>;

// "status, verify, stop, start, approve, deny, rollback, login_code": for messages.
extern const char* const kMethods;

// The request `request` asks for, or an Error (code bad_request or unknown_method)
// whose message names what is wrong: not an object, no "method", a field that is
// unknown, missing, or not a string.
Result<ControlRequest> parse_control_request(const nlohmann::json& request);
const char* method_of(const ControlRequest& request);
// What parse_control_request reads back as `request` (empty fields left out).
nlohmann::json to_json(const ControlRequest& request);

nlohmann::json ok_response(nlohmann::json data);
nlohmann::json error_response(const std::string& code, const std::string& message);
inline nlohmann::json error_response(const Error& e) { return error_response(e.code, e.message); }

// Answers one request by being called once, now or later (a stop answers when the app
// is gone).
using Responder = std::function<void(nlohmann::json response)>;

// What the supervisor does for each request. Runs on the event loop; must not block.
class ControlActions {
 public:
  virtual ~ControlActions() = default;
  virtual void act(const StatusRequest& r, Responder respond) = 0;
  virtual void act(const VerifyRequest& r, Responder respond) = 0;
  virtual void act(const StopRequest& r, Responder respond) = 0;
  virtual void act(const StartRequest& r, Responder respond) = 0;
  virtual void act(const ApproveRequest& r, Responder respond) = 0;
  virtual void act(const DenyRequest& r, Responder respond) = 0;
  virtual void act(const RollbackRequest& r, Responder respond) = 0;
  virtual void act(const LoginCodeRequest& r, Responder respond) = 0;
};

// Parses `request` and hands it to `actions`, or answers the parse error. An exception
// out of an action (a bug) is caught here, logged with the method, and answered as
// internal_error: one bad request never takes the supervisor down.
void dispatch_control_request(const nlohmann::json& request, ControlActions& actions, Responder respond);

}  // namespace agentron
