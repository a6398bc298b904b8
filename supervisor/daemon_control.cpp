// The control requests (control/protocol.h), as the daemon acts on them: the status,
// stop and start of the app, verification on demand, approvals, rollback.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "supervisor/daemon_impl.h"
#include "supervisor/status_json.h"

namespace agentron {

void Daemon::act(const StatusRequest&, Responder respond) { respond_with_status(std::move(respond)); }

bool Daemon::refuse_while_stopping(const Responder& respond) {
  if (!stopping_) return false;
  respond(error_response(control_error::shutting_down, "the supervisor is shutting down"));
  return true;
}

void Daemon::act(const StopRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  spdlog::info("control: stop requested ({})", r.reason.empty() ? "no reason given" : r.reason);
  slots_.current().controller->stop([this, respond] { respond_with_status(respond); });
}

void Daemon::act(const StartRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  spdlog::info("control: start requested ({})", r.reason.empty() ? "no reason given" : r.reason);
  slots_.current().controller->start();
  respond_with_status(std::move(respond));
}

void Daemon::act(const VerifyRequest&, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  InstanceStatus st = slots_.current().controller->status();
  if (st.state != InstanceState::ready) {
    return respond(error_response(control_error::not_ready, std::string("the app is ") + to_string(st.state) +
                                                                "; verification needs a ready instance"));
  }
  verify_waiters_.push_back(std::move(respond));
  start_verification(st);
}

void Daemon::act(const ApproveRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  if (auto s = driver_->approve(r.id); !s) return respond(error_response(s.error()));
  respond_with_status(std::move(respond));
}

void Daemon::act(const DenyRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  if (auto s = driver_->deny(r.id, r.reason); !s) return respond(error_response(s.error()));
  respond_with_status(std::move(respond));
}

void Daemon::act(const LoginCodeRequest&, Responder respond) {
  if (!web_) {
    return respond(error_response("no_pages",
                                  "the pages are served by the control API: add a [control] section "
                                  "to the config and restart the supervisor"));
  }
  if (!control_api_) return respond(error_response("not_listening", control_api_problem_));
  auto code = web_->issue_login_code();
  if (!code) return respond(error_response(code.error()));
  respond(
      ok_response({{"code", *code},
                   {"url", "http://" + control_api_->address() + "/login?code=" + *code},
                   {"expires_in_seconds",
                    std::chrono::duration_cast<std::chrono::seconds>(config_.control.login_link_lifetime).count()}}));
}

void Daemon::act(const RollbackRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  auto id = driver_->start_rollback(r.reason.empty() ? "rollback requested" : r.reason,
                                    r.requested_by.empty() ? "operator" : r.requested_by);
  if (!id) return respond(error_response(id.error()));
  respond(ok_response({{"id", *id}}));
}

void Daemon::respond_with_status(Responder respond) {
  if (!front_) return respond(ok_response(status_json(nullptr)));
  // The front's part comes from its thread, without holding up this loop; an answer
  // that does not come within a second (the thread is stuck) is reported as such.
  struct Pending {
    Responder respond;
    Timer timeout;
  };
  auto pending = std::make_shared<Pending>();
  pending->respond = std::move(respond);
  auto finish = [this, pending](nlohmann::json front) {
    if (!pending->respond) return;  // the other one came first
    auto respond = std::exchange(pending->respond, nullptr);
    pending->timeout.reset();
    respond(ok_response(status_json(std::move(front))));
  };
  std::string listen = config_.proxy.listen_host + ":" + std::to_string(config_.proxy.listen_port);
  pending->timeout = clock_.start_timer(std::chrono::seconds(1), [finish, listen] {
    finish({{"listen", listen}, {"error", "the front's thread did not answer within 1s"}});
  });
  front_->status(finish);
}

nlohmann::json Daemon::status_json(nlohmann::json front) {
  nlohmann::json j = to_json(slots_.current().controller->status());
  j["supervisor_pid"] = ::getpid();
  j["config"] = config_.source;
  j["data_dir"] = config_.app.data_dir.string();
  const Slot& current = slots_.current();
  j["release"] = current.release.dir.string();
  j["commit"] = current.release.commit;
  j["port"] = current.port;
  j["readiness"] = to_string(config_.health.readiness);
  j["verification"] = to_string(config_.health.verification);
  j["last_verification"] = last_verification_;
  j["handover"] = driver_->handover_json();
  if (Slot* candidate = slots_.candidate()) j["new_instance"] = to_json(candidate->controller->status());
  j["front"] = std::move(front);
  j["control_api"] =
      control_api_
          ? nlohmann::json{{"listen", control_api_->address()}, {"open_connections", control_api_->open_connections()}}
      : !control_api_problem_.empty() ? nlohmann::json{{"listen", nullptr}, {"error", control_api_problem_}}
                                      : nlohmann::json(nullptr);
  j["shutting_down"] = stopping_;
  return j;
}

}  // namespace agentron
