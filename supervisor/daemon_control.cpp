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
  current_->controller->stop([this, respond] { respond_with_status(respond); });
}

void Daemon::act(const StartRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  spdlog::info("control: start requested ({})", r.reason.empty() ? "no reason given" : r.reason);
  current_->controller->start();
  respond_with_status(std::move(respond));
}

void Daemon::act(const VerifyRequest&, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  InstanceStatus st = current_->controller->status();
  if (st.state != InstanceState::ready) {
    return respond(error_response(control_error::not_ready, std::string("the app is ") + to_string(st.state) +
                                                                "; verification needs a ready instance"));
  }
  verify_waiters_.push_back(std::move(respond));
  start_verification(st);
}

Handover* Daemon::awaiting_approval(const std::string& id, const Responder& respond) {
  bool awaiting = handover_ && handover_->phase() == HandoverPhase::awaiting_approval;
  if (awaiting && handover_->request().id == id) return handover_.get();
  std::string waiting =
      awaiting ? "; the request awaiting approval is " + handover_->request().id : "; no request is awaiting approval";
  respond(error_response(control_error::no_such_request, "request '" + id + "' is not awaiting approval" + waiting));
  return nullptr;
}

void Daemon::act(const ApproveRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  Handover* handover = awaiting_approval(r.id, respond);
  if (!handover) return;
  spdlog::info("control: approve request {}", r.id);
  handover->approve();
  respond_with_status(std::move(respond));
}

void Daemon::act(const DenyRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  Handover* handover = awaiting_approval(r.id, respond);
  if (!handover) return;
  spdlog::info("control: deny request {}", r.id);
  handover->deny(r.reason);
  respond_with_status(std::move(respond));
}

void Daemon::act(const RollbackRequest& r, Responder respond) {
  if (refuse_while_stopping(respond)) return;
  auto id = start_rollback(r.reason.empty() ? "rollback requested" : r.reason,
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
  nlohmann::json j = to_json(current_->controller->status());
  j["supervisor_pid"] = ::getpid();
  j["config"] = config_.source;
  j["data_dir"] = config_.app.data_dir.string();
  j["release"] = current_->release.dir.string();
  j["commit"] = current_->release.commit;
  j["port"] = current_->port;
  j["readiness"] = to_string(config_.health.readiness);
  j["verification"] = to_string(config_.health.verification);
  j["last_verification"] = last_verification_;
  j["handover"] = handover_json();
  if (candidate_) j["new_instance"] = to_json(candidate_->controller->status());
  j["front"] = std::move(front);
  j["shutting_down"] = stopping_;
  return j;
}

nlohmann::json Daemon::handover_json() {
  if (!last_request_) return nullptr;
  const HistoryRequest& r = *last_request_;
  nlohmann::json phases = nlohmann::json::array();
  if (history_) {
    if (auto list = history_->phases(r.id)) {
      for (const auto& p : *list) phases.push_back({{"phase", p.phase}, {"at", p.at}, {"detail", p.detail}});
    }
  }
  return {{"id", r.id},
          {"state", r.state},
          {"branch", r.branch},
          {"commit", r.commit},
          {"summary", r.summary},
          {"reason", r.reason},
          {"backup", r.backup_path},
          {"counts_before", r.baseline_counts},
          {"counts_after", r.verified_counts},
          {"updated_at", r.updated_at},
          {"phases", phases}};
}

}  // namespace agentron
